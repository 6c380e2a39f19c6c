"""The consent ledger: each change of permission appended where it happens -- an import's row,
a one-click unsubscribe, a bounce, a complaint -- and kept while mail may go."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.consent import RETENTION_DAYS, ConsentEntry
from chalicelib.domain.imports import ObjectCreated
from chalicelib.services.consent import ConsentRecords
from chalicelib.services.import_file import LEASE_SECONDS
from tests.fakes import FakeClock, MemoryConsentLedger
from tests.unit.test_import_file import World as Imports
from tests.unit.test_mail_events import World as Mail
from tests.unit.test_mail_events import bounce

FILE = "メールアドレス,氏名,メルマガ\r\naiko@example.com,愛子,はい\r\nken@example.com,健,いいえ\r\nmai@example.com,舞,\r\n"


def test_an_import_writes_the_file_and_row_of_each_yes_and_no_and_nothing_for_a_blank():
    world = Imports()
    world.deliver(world.drop("list.csv", FILE.encode()))
    aiko, ken = world.store.contact("aiko@example.com"), world.store.contact("ken@example.com")
    (granted,) = world.consent.entries(aiko["contact_id"])
    assert (granted.change, granted.source, granted.status) == ("granted", "import", "subscribed")
    assert granted.detail == {"file": "list.csv", "row": "2"}
    assert world.consent.expiries(aiko["contact_id"]) == [None], "kept while she may be mailed"
    (withdrawn,) = world.consent.entries(ken["contact_id"])
    assert (withdrawn.change, withdrawn.detail["row"]) == ("withdrawn", "3")
    assert world.consent.expiries(ken["contact_id"])[0] is not None
    assert world.consent.entries(world.store.contact("mai@example.com")["contact_id"]) == []
    assert world.store.write_calls == 1, "the batch's people and their entries in one transaction"

    world.deliver(world.drop("list.csv", FILE.encode(), sequencer="002"))
    assert len(world.consent.entries(aiko["contact_id"])) == 1, "the same answer again is no change"


def test_an_import_that_dies_just_after_a_batch_is_written_keeps_every_entry_when_it_resumes():
    """Throttling that outlasts the retries, or the function's end, right after DynamoDB took a
    batch: the run is retried from its checkpoint, where those people are already as the file
    says -- unchanged -- so nothing would ever write their entries if they were not written
    with them."""
    world = Imports()
    dies_after_writing(world, world.drop("list.csv", FILE.encode()))

    aiko, ken = world.store.contact("aiko@example.com"), world.store.contact("ken@example.com")
    assert [e.change for e in world.consent.entries(aiko["contact_id"])] == ["granted"]
    assert [e.change for e in world.consent.entries(ken["contact_id"])] == ["withdrawn"]


def test_a_sign_up_an_import_confirms_keeps_its_ledger_for_good_even_if_the_import_dies_there():
    world = Imports()
    world.store.create({"email": "mai@example.com", "contact_id": "c-mai", "status": "pending", "attrs": {}})
    at = "2026-11-23T01:00:00+00:00"
    records = ConsentRecords(world.consent, world.clock)
    records.record("c-mai", ConsentEntry(at, "requested", "form", "person", "pending"))
    assert world.consent.expiries("c-mai")[0] is not None, "an unconfirmed sign-up does not stay for ever"

    dies_after_writing(world, world.drop("ok.csv", b"email,consent\r\nmai@example.com,yes\r\n"))

    assert world.store.contact("mai@example.com")["status"] == "subscribed"
    assert [e.change for e in world.consent.entries("c-mai")] == ["requested", "granted"]
    assert world.consent.expiries("c-mai") == [None, None], "kept while she may be mailed"


def dies_after_writing(world: Imports, event: ObjectCreated) -> None:
    """The import's first write of a batch is made, then the run ends (throttling that outlasts
    the retries, the function's timeout); the event comes again once the run's lease lapses."""
    write, dying = world.store.put_many, [True]

    def put_many(*batch: Any) -> set[str]:
        lost = write(*batch)
        if dying:
            raise RuntimeError(dying.pop())
        return lost

    world.store.put_many = put_many  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        world.deliver(event)
    world.clock.travel(LEASE_SECONDS + 1)
    world.deliver(event)


def test_an_import_that_unsubscribes_a_subscriber_starts_the_clock_on_her_whole_ledger():
    world = Imports()
    world.deliver(world.drop("list.csv", FILE.encode()))
    aiko = world.store.contact("aiko@example.com")["contact_id"]
    world.deliver(world.drop("optout.csv", b"email,consent\r\naiko@example.com,no\r\n"))
    assert [e.change for e in world.consent.entries(aiko)] == ["granted", "withdrawn"]
    first, second = world.consent.expiries(aiko)
    assert first == second is not None, "every entry now expires together"


def test_one_click_unsubscribe_is_an_entry_with_the_mail_and_the_browser():
    world = Mail()
    world.mail()
    world.later()
    world.events.unsubscribe(world.unsubscribe_token(), "198.51.100.0", "Mail/1.0")
    (entry,) = world.consent.entries("c-aiko")
    assert (entry.change, entry.source, entry.actor, entry.status) == (
        "withdrawn",
        "unsubscribe",
        "person",
        "unsubscribed",
    )
    assert entry.detail["scenario"] == "first_purchase" and entry.ip == "198.51.100.0"
    world.events.unsubscribe(world.unsubscribe_token())
    assert len(world.consent.entries("c-aiko")) == 1, "a repeated POST changes nothing"


def test_a_bounce_and_a_complaint_are_entries_by_the_mail_service():
    world = Mail()
    ses_id = world.mail()
    world.later()
    world.events.on_feedback(bounce(ses_id, "Permanent"))
    world.events.on_feedback(bounce(ses_id, "Permanent"))
    (entry,) = world.consent.entries("c-aiko")
    assert (entry.change, entry.source, entry.actor) == ("suppressed", "bounce", "mail-service")
    assert world.consent.expiries("c-aiko") == [int(world.clock()) + RETENTION_DAYS * 86400]


def test_a_bounce_for_an_address_sodate_no_longer_knows_still_puts_it_on_the_do_not_mail_list():
    world = Mail()
    world.events.on_feedback(bounce("ses-unknown", "Permanent", "Old@Example.com"))
    assert world.people.suppressed == {"old@example.com": "bounced"}
    assert world.journeys.counts == {}


def test_becoming_mailable_again_keeps_the_whole_ledger_and_erasure_removes_it():
    clock, ledger = FakeClock(), MemoryConsentLedger()
    records = ConsentRecords(ledger, clock)
    at = "2026-11-23T01:00:00+00:00"
    records.record("c-1", ConsentEntry(at, "requested", "form", "person", "pending"))
    assert ledger.expiries("c-1")[0] is not None, "an unconfirmed sign-up does not stay for ever"
    records.record("c-1", ConsentEntry(at, "granted", "confirmation", "person", "subscribed"), False)
    assert ledger.expiries("c-1") == [None, None]
    assert [e["change"] for e in records.history("c-1")] == ["requested", "granted"]
    assert records.erase("c-1") == 2 and records.history("c-1") == []


def test_a_line_entry_says_its_channel_and_goes_only_with_the_whole_ledger():
    clock, ledger = FakeClock(), MemoryConsentLedger()
    records = ConsentRecords(ledger, clock)
    at = "2026-11-23T01:00:00+00:00"
    records.record("c-1", ConsentEntry(at, "granted", "line", "person", "granted", channel="line"))
    records.record("c-1", ConsentEntry(at, "withdrawn", "line", "person", "withdrawn", channel="line"))
    assert ledger.expiries("c-1") == [None, None], "a withdrawal never expires before the grant it ends"
    assert [(e["channel"], e["change"]) for e in records.history("c-1")] == [
        ("line", "granted"),
        ("line", "withdrawn"),
    ]
    records.record("c-1", ConsentEntry(at, "withdrawn", "import", "import", "unsubscribed"), True)
    assert len(set(ledger.expiries("c-1"))) == 1, "the email side moves every entry together"


SMS_FILE = (
    "メールアドレス,携帯電話,SMS配信\r\n"
    "aiko@example.com,090-1234-5678,はい\r\nken@example.com,080-1111-2222,いいえ\r\nmai@example.com,,\r\n"
)


def test_an_imports_sms_column_gives_or_withdraws_texts_and_never_gives_them_back():
    world = Imports()
    world.deliver(world.drop("sms.csv", SMS_FILE.encode()))
    aiko, ken = world.store.contact("aiko@example.com"), world.store.contact("ken@example.com")
    assert (aiko["sms_permission"], ken["sms_permission"]) == ("granted", "withdrawn")
    assert aiko["status"] == "pending", "a yes to texts is no yes to mail"
    assert "sms_permission" not in world.store.contact("mai@example.com")
    (granted,) = world.consent.entries(aiko["contact_id"])
    assert (granted.channel, granted.change, granted.status, granted.detail) == (
        "sms",
        "granted",
        "granted",
        {"file": "sms.csv", "row": "2"},
    )
    assert world.consent.expiries(aiko["contact_id"]) == [None]

    again = "email,sms consent\r\nken@example.com,yes\r\naiko@example.com,no\r\nmai@example.com,yes\r\n"
    world.deliver(world.drop("again.csv", again.encode()))
    assert world.store.contact("ken@example.com")["sms_permission"] == "withdrawn", "a no is not undone"
    assert world.store.contact("aiko@example.com")["sms_permission"] == "withdrawn"
    assert world.store.contact("mai@example.com")["sms_permission"] == "granted"
    assert [e.change for e in world.consent.entries(aiko["contact_id"])] == ["granted", "withdrawn"]
    assert len(world.consent.entries(ken["contact_id"])) == 1
