"""An import's write that loses the race to another writer (GIVEN / WHEN / THEN over the fakes):
the row is read and merged again into what the other writer left, counted once, recorded in the
ledger only for what was written, and after a few lost rounds reported, never dropped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.services.import_batch import ROUNDS
from chalicelib.store.dynamo import packed, transact_puts
from chalicelib.web import records
from tests.unit.test_import_file import World

FIRST = b"email,name,consent\naiko@example.com,Aiko,yes\nben@example.com,Ben,\n"


def once(change: Callable[[], None]) -> Callable[[], None]:
    pending = [change]
    return lambda: pending.pop()() if pending else None


def ledger(world: World, email: str) -> list[tuple[str, str]]:
    contact_id = world.store.contact(email)["contact_id"]
    return [(e.change, e.detail.get("file", e.source)) for e in world.consent.entries(contact_id)]


def test_an_unsubscribe_between_read_and_write_stays_and_the_row_is_merged_into_it():
    world = World()
    world.deliver(world.drop("a.csv", FIRST))
    world.store.before_write = once(
        lambda: world.store.change("aiko@example.com", status="unsubscribed", consent_source="unsubscribe")
    )
    report = world.deliver(world.drop("b.csv", b"email,name,consent\naiko@example.com,Aiko Sato,no\n"))

    aiko = world.store.contact("aiko@example.com")
    assert (aiko["status"], aiko["consent_source"], aiko["name"]) == (
        "unsubscribed",
        "unsubscribe",
        "Aiko Sato",
    )
    assert (report["rows"], report["updated"], report["unchanged"], report["rejected"]) == (1, 1, 0, 0)
    assert ledger(world, "aiko@example.com") == [("granted", "a.csv")], "the import's 'no' changed nothing"
    assert world.consent.expiries(world.store.contact("aiko@example.com")["contact_id"]) == [None]


def test_a_newcomer_someone_else_created_meanwhile_gets_the_row_with_its_consent_cells():
    world = World()
    form = {"email": "new@example.com", "contact_id": "form-1", "status": "pending", "source": "form:news"}
    form |= {"created_at": "2026-11-23T08:00:00+00:00", "updated_at": "2026-11-23T08:00:00+00:00"}
    world.store.before_write = once(lambda: world.store.create(form | {"attrs": {"from": "form"}}))
    body = b"email,name,consent,sms_consent,tier\nnew@example.com,New,yes,yes,gold\n"
    report = world.deliver(world.drop("c.csv", body))

    new = world.store.contact("new@example.com")
    assert (new["contact_id"], new["source"], new["name"]) == ("form-1", "form:news", "New")
    assert (new["status"], new["sms_permission"]) == ("subscribed", "granted"), "the row's yes to both"
    assert new["attrs"] == {"from": "form", "tier": "gold"}
    assert (report["rows"], report["created"], report["updated"]) == (1, 0, 1)
    assert ledger(world, "new@example.com") == [("granted", "c.csv"), ("granted", "c.csv")]  # mail, texts
    assert sorted(world.consent.kept) == ["form-1"], "no entry under an id that was never written"


def test_a_person_erased_meanwhile_is_rejected_as_erased_and_the_others_are_written():
    world = World()
    world.deliver(world.drop("a.csv", FIRST))
    world.store.before_write = once(lambda: world.store.erase("aiko@example.com"))
    body = b"email,company\naiko@example.com,ACME\nben@example.com,ACME\n"
    event = world.drop("b.csv", body)
    report = world.deliver(event)

    assert "aiko@example.com" not in world.store.items
    assert world.store.contact("ben@example.com")["company"] == "ACME"
    assert (report["rows"], report["updated"], report["rejected"]) == (2, 1, 1)
    assert report["rejected_by_reason"] == {"suppressed": 1}
    assert [row[:3] for row in world.errors(event.key)[1:]] == [["2", "", "suppressed"]]


def test_a_person_changed_before_every_write_is_reported_after_the_last_round():
    world = World()
    world.deliver(world.drop("a.csv", FIRST))
    world.store.before_write = lambda: world.store.change("aiko@example.com", company="Busy Ltd")
    event = world.drop("b.csv", b"email,name\naiko@example.com,Aiko Sato\nben@example.com,Ben Ito\n")
    report = world.deliver(event)

    assert world.store.contact("aiko@example.com")["name"] == "Aiko", "her row was never written"
    assert world.store.contact("ben@example.com")["name"] == "Ben Ito", "written in the first round"
    assert (report["rows"], report["updated"], report["rejected"]) == (2, 1, 1)
    assert report["rows"] == sum(
        report[k] for k in ("created", "updated", "unchanged", "rejected", "duplicates")
    )
    assert report["rejected_by_reason"] == {"changed_meanwhile": 1}
    ((line, column, reason, message, email),) = world.errors(event.key)[1:]
    assert (line, column, reason, email) == ("2", "", "changed_meanwhile", "aiko@example.com")
    assert f"{ROUNDS} times" in message and "import the file again" in message


def test_a_repeated_row_given_up_is_counted_as_rejected_not_as_a_duplicate():
    world = World()
    people = "".join(f"p{i}@example.com,P{i}\n" for i in range(100))  # a batch of its own
    world.store.before_write = lambda: (
        world.store.change("p0@example.com", company="Busy Ltd")
        if "p0@example.com" in world.store.items
        else None
    )
    report = world.deliver(world.drop("a.csv", f"email,name\n{people}p0@example.com,Again\n".encode()))

    assert (report["rows"], report["created"], report["duplicates"], report["rejected"]) == (101, 100, 0, 1)
    assert world.store.contact("p0@example.com")["name"] == "P0"


# --- the store's transactions, over a client that answers as DynamoDB would -----------------------
class Cancelled(Exception):
    def __init__(self, *codes: str) -> None:
        super().__init__("TransactionCanceledException")
        self.response = {"CancellationReasons": [{"Code": code} for code in codes]}


class Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.response = {"Error": {"Code": code}}


class Transactions:
    """Answers each call with the next scripted answer (None: written), keeping what was sent."""

    class exceptions:  # as boto3's client has them
        TransactionCanceledException = Cancelled
        ClientError = Refused

    def __init__(self, *answers: Callable[[list[Any]], Exception | None]) -> None:
        self.answers = list(answers)
        self.written: list[list[str]] = []

    def transact_write_items(self, TransactItems: list[Any]) -> dict[str, Any]:
        emails = [(put["Put"]["Item"].get("email") or put["Put"]["Item"]["pk"])["S"] for put in TransactItems]
        refusal = self.answers.pop(0)(emails) if self.answers else None
        if refusal:
            raise refusal
        self.written.append(emails)
        return {}


def puts(*emails: str) -> list[Any]:
    """A group of one conditional put for each address."""
    return [[{"Put": {"Item": {"email": {"S": e}}, "ConditionExpression": "..."}}] for e in emails]


def test_a_cancelled_transaction_names_its_losers_and_the_others_are_written_without_them(monkeypatch):
    monkeypatch.setattr("chalicelib.store.dynamo._back_off", lambda attempt: None)
    db = Transactions(
        lambda sent: Cancelled("None", "ConditionalCheckFailed", "None", "ConditionalCheckFailed"),
        lambda sent: Cancelled("TransactionConflict", "None"),  # another transaction on one of them
    )
    assert transact_puts(db, puts("a@x.jp", "b@x.jp", "c@x.jp", "d@x.jp"), "email") == {"b@x.jp", "d@x.jp"}
    assert db.written == [["a@x.jp", "c@x.jp"]]


def test_a_persons_entries_are_written_with_them_or_not_at_all():
    def entry(of: str) -> Any:
        return {"Put": {"Item": {"pk": {"S": f"k#{of}"}}, "ConditionExpression": "..."}}

    (a,), (b,), (c,) = puts("a@x.jp", "b@x.jp", "c@x.jp")
    db = Transactions(lambda sent: Cancelled("None", "None", "ConditionalCheckFailed", "None", "None"))
    groups = [[a, entry("a")], [b, entry("b")], [c, entry("c")]]
    assert transact_puts(db, groups, "email") == {"b@x.jp"}
    assert db.written == [["a@x.jp", "k#a", "c@x.jp", "k#c"]], "b's entry went with b"


def test_transactions_take_whole_groups_in_order_and_never_split_one():
    groups = [[{}] * n for n in (40, 40, 30, 1, 70, 100)]
    assert [[len(g) for g in pack] for pack in packed(groups)] == [[40, 40], [30, 1], [70], [100]]
    assert packed([]) == []


def test_a_transaction_too_large_goes_in_halves_and_a_refusal_of_one_item_is_raised():
    def over_the_limit(sent: list[str]) -> Exception | None:
        return Refused("ValidationException") if len(sent) > 2 else None

    db = Transactions(*[over_the_limit] * 4)
    assert transact_puts(db, puts("a@x.jp", "b@x.jp", "c@x.jp", "d@x.jp", "e@x.jp"), "email") == set()
    assert sorted(e for sent in db.written for e in sent) == [
        "a@x.jp",
        "b@x.jp",
        "c@x.jp",
        "d@x.jp",
        "e@x.jp",
    ]
    assert max(len(sent) for sent in db.written) == 2
    with pytest.raises(Refused):
        transact_puts(Transactions(lambda sent: Refused("ValidationException")), puts("a@x.jp"), "email")


def test_evaluations_own_writes_are_counted_too_and_still_do_not_wake_evaluation_again():
    def modified(email: str, **new: dict[str, str]) -> dict[str, Any]:
        old = {"email": {"S": email}, "contact_id": {"S": email[:1]}, "status": {"S": "subscribed"}}
        old["revision"] = {"N": "3"}
        return {"eventName": "MODIFY", "dynamodb": {"OldImage": old, "NewImage": old | new}}

    counted = {"revision": {"N": "4"}}
    graded = modified("a@x.jp", grade={"S": "A"}, evaluated_at={"S": "2026-11-23T09:00:00"}, **counted)
    unsubscribed = modified("b@x.jp", status={"S": "unsubscribed"}, **counted)
    assert records.contact_changes([graded, unsubscribed]) == ([], ["b@x.jp"], [])
