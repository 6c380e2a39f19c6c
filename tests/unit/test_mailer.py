"""Sending one scenario mail over in-memory ports: once, only to people who may be mailed,
under the frequency cap, and never lost when the mail service is busy."""

from __future__ import annotations

import email
from collections.abc import Callable
from datetime import UTC, datetime
from email.header import decode_header, make_header
from pathlib import Path

import pytest

from chalicelib.domain.definitions.compile import compile_set
from chalicelib.domain.definitions.source import load
from chalicelib.domain.journeys import Action
from chalicelib.services.mailer import ATTEMPTS, Links, Mailer, MailServiceBusyError, Sent
from tests.fakes import FakeClock, MemoryJourneys, MemoryPeople, RecordingTransport

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config"
MAILING = compile_set(
    {"templates": load((EXAMPLES / "templates.yaml").read_bytes(), "templates.yaml")}
).mailing
API = "https://api.example.jp/api"
LINK_KEY = "link-key-" + "k" * 32
DAY = 24 * 3600


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.people = MemoryPeople()
        self.journeys = MemoryJourneys()
        self.transport = RecordingTransport()
        self.waits: list[float] = []
        self.mailer = Mailer(
            self.transport,
            self.journeys,
            self.people,
            "shop@example.jp",
            Links(API, lambda: LINK_KEY),
            sleep=self.waits.append,
        )
        self.people.add("aiko@example.com", "c-aiko", name="山田 愛子", status="subscribed")

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def send(self, step: str = "thanks", template: str = "thank_you", cap=None, entry: int = 1) -> Sent:
        contact = self.people.by_email("aiko@example.com")
        assert contact is not None
        return self.mailer.send(action(step, template, entry), contact, MAILING, self.now(), "", cap)

    def ledger(self, step: str = "thanks", entry: int = 1) -> dict[str, str] | None:
        return self.journeys.action("c-aiko", action(step, "", entry).key)


def action(step: str, template: str, entry: int = 1) -> Action:
    return Action("send", step, template, f"c-aiko#first_purchase#{step}#{entry}", "first_purchase")


def parsed(raw: bytes) -> email.message.Message:
    return email.message_from_bytes(raw)


def part(message: email.message.Message, kind: str) -> str:
    for piece in message.walk():
        if piece.get_content_type() == f"text/{kind}":
            return piece.get_payload(decode=True).decode("utf-8")
    raise AssertionError(f"no text/{kind} part")


def test_a_mail_goes_once_per_action_key_and_a_second_send_is_a_duplicate():
    world = World()
    first = world.send()
    world.clock.travel(60)  # a retried tick, a minute later
    again = world.send()

    assert first == Sent("sent", "ses-0001")
    assert again == Sent("duplicate")
    assert world.transport.to() == ["aiko@example.com"]
    ledger = world.ledger()
    assert ledger is not None
    assert (ledger["status"], ledger["ses_id"], ledger["template"]) == ("sent", "ses-0001", "thank_you")
    assert world.journeys.by_ses("ses-0001") == ("c-aiko", "c-aiko#first_purchase#thanks#1")
    assert world.send(entry=2).outcome == "sent", "a re-entry into the scenario is a new mail"
    assert len(world.transport.sent) == 2


def test_the_mail_is_personal_tracked_and_carries_one_click_unsubscribe():
    world = World()
    world.send()
    ((to, raw),) = world.transport.sent
    message = parsed(raw)
    assert to == message["To"] == "aiko@example.com"
    assert str(make_header(decode_header(message["Subject"]))) == "山田 愛子様、ご購入ありがとうございます"
    assert message["List-Unsubscribe"].startswith(f"<{API}/u/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["X-Sodate-Mail"] == "first_purchase#thanks#1"
    html = part(message, "html")
    assert f'href="{API}/c/' in html and 'href="https://shop.example.jp/guide"' not in html
    assert f'<img src="{API}/o/' in html, "the open pixel"
    assert "1-2-3 Jingumae" in part(message, "plain"), "who sent it and from where"


def unsubscribed(world: World) -> None:
    world.people.block("aiko@example.com", "unsubscribed", "link", "2026-11-22T00:00:00+00:00")


def suppressed(world: World) -> None:
    world.people.block("aiko@example.com", "suppressed", "bounced", "2026-11-22T00:00:00+00:00")


def on_the_do_not_mail_list(world: World) -> None:
    world.people.suppress("aiko@example.com", "complained", "2026-11-22T00:00:00+00:00")


def erased(world: World) -> None:
    world.people.delete("aiko@example.com")


def pending(world: World) -> None:
    world.people.contacts["aiko@example.com"]["status"] = "pending"


@pytest.mark.parametrize(
    ("change", "outcome"),
    [
        (unsubscribed, "suppressed"),
        (suppressed, "suppressed"),
        (on_the_do_not_mail_list, "suppressed"),
        (erased, "suppressed"),
        (pending, "not_subscribed"),
    ],
)
def test_people_who_may_not_be_mailed_get_nothing_even_when_read_as_subscribed(
    change: Callable[[World], None], outcome: str
):
    world = World()
    stale = world.people.by_email("aiko@example.com")  # read by the walk a moment before
    change(world)
    assert stale is not None
    sent = world.mailer.send(action("thanks", "thank_you"), stale, MAILING, world.now(), "", (2, 24))
    assert sent == Sent(outcome)
    assert world.transport.sent == []
    ledger = world.ledger()
    assert ledger is not None and ledger["status"] == outcome, "the ledger says why nothing went"
    assert world.journeys.mail_times("c-aiko") == [], "no place under the cap is taken"


def test_the_frequency_cap_answers_capped_gives_the_claim_back_and_the_mail_goes_later():
    world = World()
    assert world.send("thanks", "thank_you", cap=(1, 24)).outcome == "sent"
    world.clock.travel(3600)  # an hour later, another step is due

    assert world.send("tips", "tips", cap=(1, 24)) == Sent("capped")
    assert world.ledger("tips") is None, "the claim is given back: the step stays to be done"
    assert world.transport.to() == ["aiko@example.com"]

    world.clock.travel(DAY)
    assert world.send("tips", "tips", cap=(1, 24)).outcome == "sent"
    assert len(world.transport.sent) == 2
    assert len(world.journeys.mail_times("c-aiko")) == 2


def test_throttling_is_retried_with_growing_pauses_and_the_mail_goes_once():
    world = World()
    world.transport.throttle_next = 3
    assert world.send().outcome == "sent"
    assert world.waits == [0.2, 0.4, 0.8]
    assert world.transport.to() == ["aiko@example.com"]


def test_a_mail_service_that_keeps_throttling_raises_busy_and_gives_the_claim_back():
    world = World()
    world.transport.throttle_next = ATTEMPTS
    with pytest.raises(MailServiceBusyError):
        world.send(cap=(1, 24))
    assert world.transport.sent == []
    assert world.ledger() is None, "the claim is given back"
    assert world.journeys.mail_times("c-aiko") == [], "and the place under the cap"
    assert all(wait <= 2.0 for wait in world.waits)

    world.clock.travel(60)  # the next tick
    assert world.send(cap=(1, 24)).outcome == "sent"
    assert world.transport.to() == ["aiko@example.com"]


def test_a_mail_given_back_frees_its_own_place_not_one_taken_at_the_same_moment():
    world = World()  # one walk mails two scenarios' steps to her at one `now`
    assert world.send("thanks", "thank_you", cap=(2, 24)).outcome == "sent"
    world.transport.throttle_next = ATTEMPTS
    with pytest.raises(MailServiceBusyError):
        world.send("tips", "tips", cap=(2, 24))
    assert len(world.journeys.mail_times("c-aiko")) == 1, "the mail that went keeps its place"

    assert world.send("tips", "tips", cap=(2, 24)).outcome == "sent"
    assert world.send("coupon", "coupon", cap=(2, 24)) == Sent("capped"), "two a day, not three"
    assert len(world.transport.sent) == 2


def test_a_mail_whose_answer_was_lost_is_never_sent_again_and_says_so():
    world = World()
    world.transport.lose_answers = 1  # SES took it; the connection broke before its answer came

    assert world.send(cap=(2, 24)) == Sent("unknown")
    world.clock.travel(60)  # the next tick
    assert world.send(cap=(2, 24)) == Sent("duplicate")

    assert world.transport.to() == ["aiko@example.com"], "once, not twice"
    ledger = world.ledger()
    assert ledger is not None and ledger["status"] == "unknown" and "answer was lost" in ledger["reason"]
    assert len(world.journeys.mail_times("c-aiko")) == 1, "it may have gone: its place stays taken"


def test_an_unexpected_failure_of_the_mail_service_gives_everything_back_too():
    world = World()

    def broken(to: str, raw: bytes) -> str:
        raise ConnectionResetError("connection reset by peer")

    world.transport.send_raw = broken  # type: ignore[method-assign]
    with pytest.raises(ConnectionResetError):
        world.send(cap=(1, 24))
    assert world.ledger() is None and world.journeys.mail_times("c-aiko") == []


def test_a_refused_mail_is_rejected_with_its_reason_in_the_ledger_and_never_retried():
    world = World()
    world.transport.refuse.add("aiko@example.com")
    assert world.send(cap=(1, 24)) == Sent("rejected")
    ledger = world.ledger()
    assert ledger is not None
    assert (ledger["status"], ledger["reason"]) == ("rejected", "Email address is not verified.")
    assert world.journeys.mail_times("c-aiko") == [], "a mail that never went takes no place"
    world.transport.refuse.clear()
    assert world.send() == Sent("duplicate"), "the step is done: it is not retried for ever"
    assert world.transport.sent == []


def test_a_resend_after_a_soft_bounce_takes_no_new_place_under_the_cap():
    world = World()
    assert world.send(cap=(1, 24)).outcome == "sent"
    contact = world.people.by_email("aiko@example.com")
    assert contact is not None
    resend = Action("send", "thanks", "thank_you", "c-aiko#first_purchase#thanks#1#resend1", "first_purchase")
    sent = world.mailer.send(resend, contact, MAILING, world.now(), "", (1, 24), resend=True)
    assert sent.outcome == "sent"
    assert len(world.transport.sent) == 2 and len(world.journeys.mail_times("c-aiko")) == 1
