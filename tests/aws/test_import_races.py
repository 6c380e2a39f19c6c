"""What someone else writes to a person while an import is between reading and writing them
stays: an unsubscribe, a topic turned off, a STOP to texts, an erasure, a sign-up, another import,
and every other writer of contacts.  The import's row is merged into it, and counted once.

Each test makes its change where a concurrent Lambda would: after the import read the batch,
before it wrote it (the store's write is wrapped for that, once)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from chalicelib import bootstrap, clock
from chalicelib.domain.commerce import Purchase
from chalicelib.domain.consent import refusal
from chalicelib.domain.tokens import sign
from chalicelib.store.contacts import DynamoContactStore
from chalicelib.store.line_people import DynamoLinePeople
from tests.aws.conftest import queued_bodies
from tests.aws.test_api import drop_and_import
from tests.aws.test_beacons import auth
from tests.aws.test_signups import confirm_link, define, post_json, spec

ONE_CLICK = {"Content-Type": "application/x-www-form-urlencoded"}


def meanwhile(monkeypatch: pytest.MonkeyPatch, change: Callable[[], None]) -> None:
    """`change` happens once, between the next import's read of a batch and its write."""
    write, pending = DynamoContactStore.put_many, [change]

    def put_many(self: DynamoContactStore, *batch: Any) -> Any:
        while pending:
            pending.pop()()
        return write(self, *batch)

    monkeypatch.setattr(DynamoContactStore, "put_many", put_many)


def person(api: Any, aws: dict[str, Any], email: str = "aiko@example.com") -> Any:
    return api.http.get(f"/admin/contacts?email={email}", headers=auth(aws))


def ledger(api: Any, aws: dict[str, Any], contact_id: str) -> dict[str, Any]:
    found: dict[str, Any] = api.http.get(f"/admin/contacts/{contact_id}/consent", headers=auth(aws)).json_body
    return found


def link_token(aws: dict[str, Any], **claims: str) -> str:
    """What a mail's links carry: signed with the link key."""
    secrets = aws["session"].client("secretsmanager")
    key = secrets.get_secret_value(SecretId=aws["LinkSigningKeySecret"])["SecretString"]
    return sign(claims, key, int(time.time()) + 3600)


def test_a_topic_turned_off_and_an_unsubscribe_while_an_import_writes_stay(aws, api, monkeypatch):
    drop_and_import(aws, api, "a.csv", b"email,name,consent\naiko@example.com,Aiko,yes\n")
    aiko = person(api, aws).json_body["contact_id"]
    mail = f"{aiko}#welcome#tips#1"
    offers, everything = link_token(aws, unsub=mail, t="offers"), link_token(aws, unsub=mail)

    def clicks() -> None:  # the two one-click links of her mail
        assert (
            api.http.post(f"/u/{offers}", body="List-Unsubscribe=One-Click", headers=ONE_CLICK).status_code
            == 200
        )
        assert (
            api.http.post(
                f"/u/{everything}", body="List-Unsubscribe=One-Click", headers=ONE_CLICK
            ).status_code
            == 200
        )

    meanwhile(monkeypatch, clicks)
    report = drop_and_import(aws, api, "b.csv", b"email,name\naiko@example.com,Aiko Sato\n")

    after = person(api, aws).json_body
    assert (after["status"], after["topics_off"]) == ("unsubscribed", ["offers"])
    assert after["name"] == "Aiko Sato", "the row's change is merged into hers"
    assert (report["rows"], report["updated"], report["unchanged"], report["rejected"]) == (1, 1, 0, 0)
    assert ledger(api, aws, aiko)["status"] == "unsubscribed"
    fresh, _ = bootstrap.contact_state().for_sending("aiko@example.com")
    assert refusal(fresh or {}, "offers", "2030-01-01T00:00:00") is not None, "no mail about offers"


def test_a_stop_reply_while_an_import_writes_keeps_her_texts_stopped(aws, api, streams, monkeypatch):
    drop_and_import(
        aws, api, "a.csv", b"email,name,phone,sms_consent\naiko@example.com,Aiko,090-1234-5678,yes\n"
    )
    assert person(api, aws).json_body["sms_permission"] == "granted"
    streams()  # the people index learns who may be texted at the number

    def stop() -> None:  # STOP to our number: two-way SMS's topic, then the feedback queue
        reply = {"originationNumber": "+819012345678", "destinationNumber": "+815012340000"}
        reply |= {"messageKeyword": "KEYWORD", "messageBody": "停止", "inboundMessageId": "in-1"}
        aws["session"].client("sns").publish(TopicArn=aws["SmsRepliesTopicArn"], Message=json.dumps(reply))
        bodies = queued_bodies(aws["session"].client("sqs"), aws["MailFeedbackQueueUrl"])
        event = api.events.generate_sqs_event(queue_name="sodate-mail-feedback", message_bodies=bodies)
        api.lambda_.invoke("mail_feedback", event)

    meanwhile(monkeypatch, stop)
    report = drop_and_import(aws, api, "b.csv", b"email,company\naiko@example.com,ACME\n")

    after = person(api, aws).json_body
    assert (after["sms_permission"], after["company"]) == ("withdrawn", "ACME")
    assert (report["rows"], report["updated"]) == (1, 1)


def test_a_person_erased_while_an_import_writes_is_not_brought_back(aws, api, monkeypatch):
    drop_and_import(
        aws, api, "a.csv", b"email,name,consent\naiko@example.com,Aiko,yes\nbob@example.com,Bob,yes\n"
    )
    bob = person(api, aws, "bob@example.com").json_body["contact_id"]

    def erase() -> None:
        assert api.http.delete(f"/admin/contacts/{bob}", headers=auth(aws)).status_code == 200

    meanwhile(monkeypatch, erase)
    report = drop_and_import(
        aws, api, "b.csv", b"email,company\naiko@example.com,ACME\nbob@example.com,ACME\n"
    )

    assert person(api, aws, "bob@example.com").status_code == 404
    assert api.http.get(f"/admin/contacts/{bob}", headers=auth(aws)).status_code == 404
    assert person(api, aws).json_body["company"] == "ACME", "the rest of the batch is written"
    assert (report["rows"], report["updated"], report["created"], report["rejected"]) == (2, 1, 0, 1)
    assert report["rejected_by_reason"] == {"suppressed": 1}


def test_a_sign_up_while_an_import_creates_the_same_person_keeps_its_id_and_subscription(
    aws, api, site, monkeypatch
):
    define(api, aws)
    ft = spec(api, site)["ft"]

    def sign_up() -> None:  # the form, and the link in its confirmation mail
        clock.travel(5)
        assert post_json(api, site, ft=ft).status_code == 202
        assert api.http.post(confirm_link(), body="", headers=ONE_CLICK).status_code == 200

    meanwhile(monkeypatch, sign_up)
    report = drop_and_import(aws, api, "c.csv", b"email,company\nhana@example.com,ACME\n")

    hana = person(api, aws, "hana@example.com").json_body
    assert (hana["status"], hana["topics"], hana["name"]) == ("subscribed", ["newsletter"], "花子")
    assert hana["company"] == "ACME", "the row is merged into the person the form made"
    entries = ledger(api, aws, hana["contact_id"])["entries"]
    assert [(e["change"], e["source"]) for e in entries] == [
        ("requested", "form"),
        ("granted", "confirmation"),
    ]
    assert (report["rows"], report["created"], report["updated"]) == (1, 0, 1)


def test_two_imports_of_overlapping_files_at_once_make_each_person_once(aws, api, monkeypatch):
    other: dict[str, Any] = {}

    def other_import() -> None:  # the same people, from another file, imported start to end
        other["report"] = drop_and_import(
            aws, api, "shop.csv", b"email,name,consent\naiko@example.com,Aiko,yes\nben@example.com,Ben,yes\n"
        )
        other["aiko"] = person(api, aws).json_body["contact_id"]

    meanwhile(monkeypatch, other_import)
    report = drop_and_import(
        aws,
        api,
        "crm.csv",
        b"email,company,consent\naiko@example.com,ACME,yes\ncai@example.com,Cai Ltd,yes\n",
    )

    aiko = person(api, aws).json_body
    assert aiko["contact_id"] == other["aiko"], "the person the other file made"
    assert (aiko["name"], aiko["company"], aiko["status"]) == ("Aiko", "ACME", "subscribed")
    entries = ledger(api, aws, aiko["contact_id"])["entries"]
    assert [(e["change"], e["detail"]["file"]) for e in entries] == [("granted", "shop.csv")]
    assert (other["report"]["created"], report["created"], report["updated"]) == (2, 1, 1)


def _line(aws: dict[str, Any]) -> DynamoLinePeople:
    settings = bootstrap.settings()
    return DynamoLinePeople(aws["session"].client("dynamodb"), settings.events_table, settings.contacts_table)


def _now() -> str:
    return datetime.fromtimestamp(clock.now(), UTC).isoformat(timespec="seconds")


def line_block(aws: dict[str, Any]) -> None:  # she blocked the shop's LINE account
    written, was = _line(aws).contact_permission("aiko@example.com", "U1", "withdrawn", _now(), 2)
    assert written and was == "granted"


def order(aws: dict[str, Any]) -> None:
    contact, _ = bootstrap.contact_state().for_sending("aiko@example.com")
    purchase = Purchase("o-1", _now(), Decimal("1200"), ("tea",), "api")
    assert bootstrap.contact_state().record_purchase(contact or {}, purchase, _now())


def scenario_update(aws: dict[str, Any]) -> None:
    bootstrap.contact_state().set_attrs("aiko@example.com", {"stage": "vip"})


def evaluation(aws: dict[str, Any]) -> None:
    bootstrap.contact_state().save_derived("aiko@example.com", {"grade": "A"}, _now())


def preference_pause(aws: dict[str, Any]) -> None:
    directory = bootstrap.contact_directory()
    assert directory.set_preferences("aiko@example.com", [], ["offers"], "2030-01-01", _now())


OTHER_WRITERS = [
    pytest.param(line_block, lambda after: after["line_permission"] == "withdrawn", id="line"),
    pytest.param(order, lambda after: after["purchase_count"] == 1, id="order"),
    pytest.param(scenario_update, lambda after: after["attrs"].get("stage") == "vip", id="scenario"),
    pytest.param(evaluation, lambda after: after.get("grade") == "A", id="evaluation"),
    pytest.param(
        preference_pause,
        lambda after: (after.get("paused_until"), after.get("topics_off")) == ("2030-01-01", ["offers"]),
        id="preferences",
    ),
]


@pytest.mark.parametrize(("change", "kept"), OTHER_WRITERS)
def test_what_any_other_writer_wrote_while_an_import_writes_stays(aws, api, monkeypatch, change, kept):
    drop_and_import(aws, api, "a.csv", b"email,name,consent\naiko@example.com,Aiko,yes\n")
    _line(aws).link_contact("aiko@example.com", "U1", "granted", _now(), 1)

    meanwhile(monkeypatch, lambda: change(aws))
    report = drop_and_import(aws, api, "b.csv", b"email,company\naiko@example.com,ACME\n")

    after = person(api, aws).json_body
    assert kept(after), after
    assert after["company"] == "ACME" and (report["rows"], report["updated"]) == (1, 1)
