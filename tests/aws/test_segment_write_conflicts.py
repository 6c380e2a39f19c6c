"""Every segment entry and exit also updates the segment's size item, so on a busy segment
DynamoDB cancels transactions for a conflict (another transaction holds the item) or for
throttling.  Such a change is tried again; one that still cannot be written is never taken for
"already a member": the contact does not claim it, nothing is parked, and the stream's retry
makes it, recorded once.  moto runs transactions under one lock (it never conflicts), so the
client here cancels as DynamoDB would, as many times as told.  And an evaluation that loses the
race to an erasure leaves no membership of the erased person behind."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.domain.errors import TransientError
from chalicelib.services.evaluation import Evaluator
from chalicelib.store.segments import SegmentStore
from tests.aws.conftest import queued_bodies
from tests.aws.test_beacons import auth
from tests.aws.test_identity import contact_by_email, timeline
from tests.aws.test_scoring_segments import identify, load_examples, members


class Contended:
    """The DynamoDB client, with the next `refusals` TransactWriteItems cancelled for `reason`
    (DynamoDB names it against one item; the others say None)."""

    def __init__(self, db: Any, reason: str = "TransactionConflict") -> None:
        self._db = db
        self.exceptions = db.exceptions
        self.reason = reason
        self.refusals = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        if self.refusals:
            self.refusals -= 1
            reasons = [{"Code": "None"}] * (len(kwargs["TransactItems"]) - 1) + [{"Code": self.reason}]
            raise self._db.exceptions.TransactionCanceledException(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                    "CancellationReasons": reasons,
                },
                "TransactWriteItems",
            )
        return self._db.transact_write_items(**kwargs)


def contended_evaluator(reason: str = "TransactionConflict") -> tuple[Evaluator, Contended]:
    settings = bootstrap.settings()
    client = Contended(bootstrap.contact_state()._db, reason)
    segments = SegmentStore(client, settings.segments_table, settings.events_table)
    evaluator = Evaluator(
        bootstrap.contact_state(),
        segments,
        bootstrap.definitions(),
        bootstrap.sales_alerts(),
        bootstrap.clock.now,
        bootstrap.isolation(),
    )
    return evaluator, client


def entries(api: Any, aws: dict[str, Any], contact_id: str, kind: str, segment: str) -> int:
    return sum(1 for e in timeline(api, aws, contact_id) if e["kind"] == kind and e.get("name") == segment)


def size(api: Any, aws: dict[str, Any], segment: str) -> int:
    listed = api.http.get("/admin/segments", headers=auth(aws)).json_body["segments"]
    return next(s["size"] for s in listed if s["name"] == segment)


def test_a_segment_entry_that_conflicts_for_a_moment_is_made_and_recorded_once(aws, api, site, streams):
    # GIVEN a new contact, and a busy segment: the next two transactions conflict
    load_examples(aws, api)
    evaluator, client = contended_evaluator()
    contact_id = identify(api, site, "device-zzzz", "yuki@example.com")  # streams not drained yet
    yuki = bootstrap.contact_state().by_email("yuki@example.com")
    client.refusals = 2

    # WHEN she is evaluated, and then the contacts stream runs as usual
    evaluator.evaluate(yuki)
    streams()

    # THEN she is a prospect everywhere a marketer looks, with one entry that scenarios start from
    assert "prospects" in contact_by_email(api, aws, "yuki@example.com")["segments"]
    assert "yuki@example.com" in members(api, aws, "prospects")
    assert size(api, aws, "prospects") == 1
    assert entries(api, aws, contact_id, "segment_enter", "prospects") == 1


def test_a_throttled_segment_entry_is_not_claimed_nor_parked_and_the_retry_makes_it(aws, api, site):
    # GIVEN a new contact, and the segments table throttled for longer than the retries last
    load_examples(aws, api)
    evaluator, client = contended_evaluator("ThrottlingError")
    contact_id = identify(api, site, "device-tttt", "taku@example.com")
    client.refusals = 10**6

    # WHEN the contacts stream's batch with her change runs, it fails as a passing fault
    with pytest.raises(TransientError):
        evaluator.on_contacts([], ["taku@example.com"])

    # THEN her record claims no segment the members lists lack, and nothing was parked as poison
    claimed = set(contact_by_email(api, aws, "taku@example.com").get("segments") or [])
    assert "taku@example.com" not in members(api, aws, "prospects")
    assert "prospects" not in claimed
    assert all("taku@example.com" in members(api, aws, name) for name in claimed)
    assert queued_bodies(aws["session"].client("sqs"), aws["ImportDeadLetterQueueUrl"]) == []

    # WHEN Lambda hands the batch over again and the table takes writes again
    client.refusals = 0
    evaluator.on_contacts([], ["taku@example.com"])

    # THEN she entered, once
    assert "prospects" in contact_by_email(api, aws, "taku@example.com")["segments"]
    assert "taku@example.com" in members(api, aws, "prospects")
    assert size(api, aws, "prospects") == 1
    assert entries(api, aws, contact_id, "segment_enter", "prospects") == 1


def test_an_erased_persons_exit_that_conflicts_is_retried_until_the_address_is_gone(aws, api, site, streams):
    # GIVEN a prospect
    load_examples(aws, api)
    contact_id = identify(api, site, "device-eeee", "emi@example.com")
    streams()
    assert "emi@example.com" in members(api, aws, "prospects")
    emi = bootstrap.contact_state().by_email("emi@example.com")
    evaluator, client = contended_evaluator()

    # WHEN she is erased and her segment exits keep conflicting
    assert api.http.delete(f"/admin/contacts/{contact_id}", headers=auth(aws)).status_code == 200
    client.refusals = 10**6
    with pytest.raises(TransientError):
        evaluator.on_contacts([emi], [])
    assert queued_bodies(aws["session"].client("sqs"), aws["ImportDeadLetterQueueUrl"]) == []

    # THEN the stream's retry takes her out: no address left in any segment
    client.refusals = 0
    evaluator.on_contacts([emi], [])
    streams()
    assert "emi@example.com" not in members(api, aws, "prospects")
    assert "emi@example.com" not in members(api, aws, "mailable")
    assert size(api, aws, "prospects") == 0


def test_an_evaluation_that_read_a_person_before_their_erasure_leaves_no_membership_behind(
    aws, api, site, streams
):
    load_examples(aws, api)
    contact_id = identify(api, site, "device-yyyy", "mika@example.com")
    read_before = bootstrap.contact_state().by_email("mika@example.com")  # a slower batch's read
    assert read_before is not None
    assert api.http.delete(f"/admin/contacts/{contact_id}", headers=auth(aws)).status_code == 200
    streams()  # the erasure's REMOVE: she leaves every segment she was in

    bootstrap.evaluator().evaluate(read_before)  # the slower evaluation writes what it decided

    assert "mika@example.com" not in members(api, aws, "prospects"), "no address of hers is kept"
    export = api.http.post("/admin/segments/prospects/export", headers=auth(aws)).json_body
    body = aws["session"].client("s3").get_object(Bucket=aws["Bucket"], Key=export["key"])["Body"].read()
    assert b"mika" not in body
