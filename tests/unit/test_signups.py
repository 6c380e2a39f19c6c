"""Sign-ups over in-memory ports: double opt-in in one request, the mailbox proves the claim,
and every step lands in the consent ledger."""

from __future__ import annotations

import email
import re
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.errors import BadInputError, NotFoundError, TooManyError
from chalicelib.domain.site import Site
from chalicelib.domain.tokens import InvalidTokenError, sign
from chalicelib.services.consent import ConsentRecords
from chalicelib.services.definitions import DefinitionsService
from chalicelib.services.identity import Identity
from chalicelib.services.signups import Client, MailLinks, Signups
from tests.fakes import (
    FakeClock,
    MemoryConsentLedger,
    MemoryDefinitionVersions,
    MemoryFiles,
    MemoryPeople,
    MemorySignups,
    MemorySites,
    RecordingTransport,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config"
SHOP = Site("s_shop", "Shop", ("localhost", "shop.example.jp"), "secret", "none", "2026-11-01")
OTHER = Site("s_other", "Other", ("other.example.jp",), "secret2", "none", "2026-11-01")
LINK_KEY = "link-key-" + "k" * 32
API = "https://api.example.jp/api"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36"
VISITOR = Client("203.0.113.7", CHROME)


class World:
    def __init__(self, forms: str | None = None) -> None:
        self.clock = FakeClock()
        self.people = MemoryPeople()
        self.sites = MemorySites()
        self.sites.put_site(SHOP)
        self.sites.put_site(OTHER)
        self.ledger = MemoryConsentLedger()
        self.pending = MemorySignups()
        self.transport = RecordingTransport()
        self.definitions = DefinitionsService(MemoryDefinitionVersions(), MemoryFiles(), self.clock)
        self.definitions.submit("templates", (EXAMPLES / "templates.yaml").read_bytes(), "templates.yaml")
        text = forms.encode() if forms else (EXAMPLES / "forms.yaml").read_bytes()
        self.definitions.submit("forms", text, "forms.yaml")
        self.identity = Identity(self.sites, self.people, lambda: LINK_KEY, self.clock)
        self.signups = Signups(
            self.definitions,
            self.people,
            ConsentRecords(self.ledger, self.clock),
            self.pending,
            self.transport,
            lambda: LINK_KEY,
            MailLinks(API, "news@shop.example.jp"),
            self.clock,
            self.identity,
        )

    def submit(
        self, site: Site = SHOP, form_name: str = "newsletter", client: Client = VISITOR, **fields: Any
    ) -> Any:
        form = self.signups.form(site, form_name)
        body = {
            "email": "Hana@Example.com",
            "name": "花子",
            "attrs.favourite_tea": "玉露",
            "topics": ["newsletter"],
            "v": "visitor-hana-01",
            "page": "https://shop.example.jp/news?utm_source=x",
            "ft": self.signups.start_token(site, form),
        } | fields
        self.clock.travel(5)  # a person takes a few seconds to fill it in
        return self.signups.submit(site, form, body, client)

    def confirm_token(self, index: int = -1) -> str:
        message = email.message_from_bytes(self.transport.sent[index][1])
        text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
        payload = text.get_payload(decode=True)
        assert isinstance(payload, bytes)
        found = re.search(r"/confirm/([\w.-]+)", payload.decode())
        assert found, payload.decode()
        return found.group(1)

    def entries(self, contact_id: str) -> list[tuple[str, str]]:
        return [(e.change, e.source) for e in self.ledger.entries(contact_id)]


def test_a_sign_up_mails_its_confirmation_at_once_and_subscribes_only_when_the_button_is_pressed():
    world = World()
    taken = world.submit()
    assert "確認メール" in taken.thanks
    assert world.transport.to() == ["hana@example.com"], "the confirmation left within the request"
    person = world.people.by_email("hana@example.com")
    assert person is not None and person["status"] == "pending"
    assert "name" not in person and not person.get("attrs"), "nothing the claim says is written yet"
    assert world.sites.links == {}, "no browser is joined to the address on a claim"
    assert world.entries(person["contact_id"]) == [("requested", "form")]

    token = world.confirm_token()
    assert world.signups.waiting(token) == {
        "email": "hana@example.com",
        "form": "newsletter",
        "topics": ["newsletter"],
    }
    assert world.people.by_email("hana@example.com")["status"] == "pending", "looking confirms nothing"

    world.clock.travel(60)
    confirmer = Client("198.51.100.23", "Mozilla/5.0 (iPhone) Mobile Safari")
    done = world.signups.confirm(token, confirmer)
    assert done is not None and done["email"] == "hana@example.com"
    person = world.people.by_email("hana@example.com")
    assert person["status"] == "subscribed" and person["name"] == "花子"
    assert person["attrs"] == {"favourite_tea": "玉露"} and person["topics"] == {"newsletter"}
    granted = world.ledger.entries(person["contact_id"])[-1]
    assert (granted.change, granted.source, granted.actor) == ("granted", "confirmation", "person")
    assert granted.ip == "198.51.100.0" and "iPhone" in granted.user_agent
    assert granted.detail["wording"].startswith("育て茶舗からのお知らせ"), "the exact words shown are kept"
    assert granted.detail["page"] == "https://shop.example.jp/news?utm_source=x"
    assert granted.detail["submitted_ip"] == "203.0.113.0" and granted.detail["topics"] == "newsletter"
    assert world.ledger.expiries(person["contact_id"]) == [None, None], "kept while mail may be sent"

    assert world.signups.confirm(token, confirmer) is None, "a link confirms once"
    assert len(world.ledger.entries(person["contact_id"])) == 2


def test_the_way_back_identifies_the_browser_that_signed_up_and_no_other():
    world = World()
    world.submit()
    done = world.signups.confirm(world.confirm_token(), VISITOR)
    assert done is not None
    url = done["continue_url"]
    assert url.startswith("https://shop.example.jp/news?utm_source=x&sodate_t=")
    identity = url.split("sodate_t=", 1)[1]
    with pytest.raises(InvalidTokenError, match="another browser"):
        world.identity.from_email_link(SHOP, "someone-elses-01", identity)
    contact_id = world.people.by_email("hana@example.com")["contact_id"]
    assert world.identity.from_email_link(SHOP, "visitor-hana-01", identity) == contact_id


def test_a_confirmation_that_dies_before_its_ledger_entry_still_keeps_the_sign_ups_evidence():
    """The grant is written, then the function ends (a timeout, throttling) before the ledger's
    writes: the person is mailable, so the entry of their sign-up -- the form, the words shown,
    the page -- must not expire as an unconfirmed one does."""
    world = World()
    world.submit()
    person = world.people.by_email("hana@example.com")
    assert world.ledger.expiries(person["contact_id"])[0] is not None, "unconfirmed: it would expire"

    grant = world.people.grant

    def dies(*change: Any, **more: Any) -> None:
        grant(*change, **more)
        raise RuntimeError("Task timed out")

    world.people.grant = dies  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        world.signups.confirm(world.confirm_token(), VISITOR)

    assert world.people.by_email("hana@example.com")["status"] == "subscribed"
    assert world.entries(person["contact_id"]) == [("requested", "form")]
    assert world.ledger.expiries(person["contact_id"]) == [None], "kept while mail may be sent"


def test_a_claim_on_a_known_address_changes_nothing_until_the_mailbox_confirms():
    world = World()
    world.people.add("hana@example.com", "c-hana", name="本物の花子", status="pending", attrs={})
    world.submit(name="偽物", **{"attrs.favourite_tea": "抹茶"})
    assert world.people.by_email("hana@example.com")["name"] == "本物の花子"
    world.signups.confirm(world.confirm_token(), VISITOR)
    assert world.people.by_email("hana@example.com")["name"] == "偽物", "the mailbox owner said so"


def test_robots_are_turned_away_without_a_mail():
    world = World()
    assert world.submit(sodate_hp="http://spam.example").thanks, "a robot is told nothing"
    form = world.signups.form(SHOP, "newsletter")
    with pytest.raises(BadInputError, match="too quickly"):
        world.signups.submit(
            SHOP,
            form,
            {"email": "a@example.com", "topics": ["offers"], "ft": world.signups.start_token(SHOP, form)},
            VISITOR,
        )
    with pytest.raises(BadInputError, match="start token"):
        world.submit(ft=None)
    other_form = sign({"f": "s_other#newsletter", "t": "1"}, LINK_KEY, int(world.clock()) + 60)
    with pytest.raises(BadInputError, match="another form"):
        world.submit(ft=other_form)
    assert world.transport.sent == [] and world.people.contacts == {}


def test_rate_limits_per_address_and_per_network():
    world = World()
    for _ in range(5):
        world.submit()
    assert len(world.transport.sent) == 3, "one mail box gets at most three confirmations an hour"
    for i in range(5):
        world.submit(email=f"other{i}@example.com")
    with pytest.raises(TooManyError):
        world.submit(email="one-more@example.com")
    world.clock.travel(600)
    world.submit(email="later@example.com")
    assert world.transport.to()[-1] == "later@example.com"


def test_a_suppressed_address_gets_nothing_and_an_unsubscribed_one_may_come_back():
    world = World()
    world.people.add("gone@example.com", "c-gone", status="suppressed")
    world.people.suppress("gone@example.com", "bounced", "2026-11-01")
    world.submit(email="gone@example.com")
    assert world.transport.sent == []

    world.people.add("back@example.com", "c-back", status="unsubscribed", attrs={})
    world.people.suppress("back@example.com", "unsubscribed:welcome", "2026-11-01")
    world.submit(email="back@example.com")
    world.signups.confirm(world.confirm_token(), VISITOR)
    assert world.people.by_email("back@example.com")["status"] == "subscribed"
    assert not world.people.is_suppressed("back@example.com")


def test_a_single_opt_in_form_subscribes_at_once_and_says_so_in_the_ledger():
    forms = (EXAMPLES / "forms.yaml").read_text().replace("opt_in: double", "opt_in: single")
    world = World(forms)
    world.submit()
    person = world.people.by_email("hana@example.com")
    assert person["status"] == "subscribed" and world.transport.sent == []
    granted = world.ledger.entries(person["contact_id"])[-1]
    assert (granted.change, granted.source, granted.detail["opt_in"]) == ("granted", "form", "single")


def test_tokens_for_another_purpose_or_out_of_date_confirm_nothing():
    world = World()
    world.submit()
    token = world.confirm_token()
    with pytest.raises(InvalidTokenError, match="another purpose"):
        world.signups.confirm(world.identity.link_token("c-x"), VISITOR)
    with pytest.raises(InvalidTokenError, match="bad signature"):
        world.signups.confirm(token[:-2] + "xx", VISITOR)
    world.clock.travel(8 * 86400)
    with pytest.raises(InvalidTokenError, match="expired"):
        world.signups.confirm(token, VISITOR)
    assert world.people.by_email("hana@example.com")["status"] == "pending"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"name": "x" * 201}, "at most 200"),
        ({"attrs.favourite_tea": "コーヒー"}, "choose one of"),
        ({"topics": ["everything"]}, "does not offer"),
        ({"topics": []}, "at least one"),
        ({"name": ["a", "list"]}, "expected text"),
    ],
)
def test_what_the_form_does_not_take_is_refused_by_name(fields, message):
    world = World()
    with pytest.raises(BadInputError, match=message):
        world.submit(**fields)
    assert world.transport.sent == []


def test_control_characters_pasted_into_a_field_are_not_kept():
    world = World()
    world.submit(name="\x00花\x1b子\x07 ")
    world.signups.confirm(world.confirm_token(), VISITOR)
    assert world.people.by_email("hana@example.com")["name"] == "花子"


def test_a_form_of_another_site_is_not_found():
    world = World()
    with pytest.raises(NotFoundError):
        world.signups.form(OTHER, "newsletter")


def test_an_address_claimed_by_a_stranger_and_its_owner_joins_only_the_owners_browser():
    world = World()
    world.submit(name="Stranger", v="stranger-01", client=Client("192.0.2.9", CHROME))
    world.clock.travel(60)
    world.submit(name="花子", v="visitor-hana-01")
    assert len(world.transport.sent) == 2, "two confirmations, both to the mailbox"
    done = world.signups.confirm(world.confirm_token(-1), VISITOR)  # she presses her own
    assert done is not None and world.people.by_email("hana@example.com")["name"] == "花子"
    identity = done["continue_url"].split("sodate_t=", 1)[1]
    with pytest.raises(InvalidTokenError, match="another browser"):
        world.identity.from_email_link(SHOP, "stranger-01", identity)
    assert world.sites.links == {}, "the stranger's submission, never confirmed, joined nothing"
