"""Segment membership kept exact: erasure, shared transactions, the sweep, poison records,
and each change recorded once however many streams see it."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from chalicelib import bootstrap
from chalicelib.services.evaluation import Evaluator
from tests.aws.conftest import queued_bodies
from tests.aws.test_api import drop_and_import
from tests.aws.test_beacons import auth, send
from tests.aws.test_identity import contact_by_email, pageview, timeline
from tests.aws.test_scoring_segments import identify, load_examples, members


def test_a_quiet_contact_cools_down_and_the_sweep_moves_them_out(aws, api, site, streams):
    load_examples(aws, api)
    contact_id = identify(api, site, "device-bbbb", "ken@example.com")
    for _ in range(4):
        send(api, pageview(site, "device-bbbb", "/pricing"))
    streams()
    assert "hot_leads" in contact_by_email(api, aws, "ken@example.com")["segments"]
    check_at = contact_by_email(api, aws, "ken@example.com")["check_at"]
    assert check_at, "a decaying score has a time it drops below a threshold"

    later = [time.time()]
    evaluator = Evaluator(
        bootstrap.contact_state(),
        bootstrap.segment_store(),
        bootstrap.definitions(),
        bootstrap.sales_alerts(),
        lambda: later[0],
        bootstrap.isolation(),
    )
    assert evaluator.sweep() == 0, "nobody is due yet"
    later[0] = datetime.fromisoformat(check_at).timestamp() + 1
    assert evaluator.sweep() == 1
    ken = contact_by_email(api, aws, "ken@example.com")
    assert "hot_leads" not in ken["segments"]
    assert members(api, aws, "hot_leads") == set()
    assert any(
        e["kind"] == "segment_leave" and e["name"] == "hot_leads" for e in timeline(api, aws, contact_id)
    )


def test_bots_never_score(aws, api, site, streams):
    load_examples(aws, api)
    identify(api, site, "device-cccc", "bot@example.com")
    for _ in range(4):
        send(api, pageview(site, "device-cccc", "/pricing"), agent="curl/8.0")
    streams()
    assert contact_by_email(api, aws, "bot@example.com")["scores"]["interest"] == 0


# --- purchases and commerce segments --------------------------------------------------------------


def test_erasing_a_person_takes_them_out_of_every_segment(aws, api, site, streams):
    load_examples(aws, api)
    contact_id = identify(api, site, "device-eeee", "eri@example.com")
    for _ in range(4):
        send(api, pageview(site, "device-eeee", "/pricing"))
    streams()
    assert members(api, aws, "hot_leads") == {"eri@example.com"}
    assert api.http.delete(f"/admin/contacts/{contact_id}", headers=auth(aws)).status_code == 200
    streams()
    assert members(api, aws, "hot_leads") == set()
    sizes = {
        s["name"]: s["size"] for s in api.http.get("/admin/segments", headers=auth(aws)).json_body["segments"]
    }
    assert sizes["hot_leads"] == 0 and sizes["prospects"] == 0


def test_segment_moves_in_shared_transactions_count_everyone_once_even_when_repeated(aws, api):
    from chalicelib.domain.evaluation import Move

    store = bootstrap.segment_store()
    moves = [Move(f"c{i:03d}", f"p{i}@example.com", ["a", "b", "c"], []) for i in range(40)]  # 120 changes
    store.move_many(moves, "2026-11-23T00:00:00+00:00")
    store.move_many(moves[:10], "2026-11-23T00:00:01+00:00")  # a retried batch: already members
    assert store.sizes(["a", "b", "c"]) == {"a": 40, "b": 40, "c": 40}
    store.move_many(
        [Move("c000", "p0@example.com", [], ["a"]), Move("c999", "new@example.com", ["a"], [])], "t"
    )
    assert store.sizes(["a"]) == {"a": 40}
    assert "c000" not in {m["contact_id"] for m in store.all_members("a")}


def test_the_sweep_works_through_everyone_due_in_pages_and_leaves_the_rest(aws, api, streams):
    load_examples(aws, api)
    today = datetime.now(UTC).date()
    edge = (today - timedelta(days=180)).isoformat()  # lapsed (more than 180 days) from tomorrow
    rows = "".join(f"l{i}@example.com,2,{edge}\n" for i in range(45))
    rows += f"fresh@example.com,2,{today.isoformat()}\n"
    drop_and_import(aws, api, "edge.csv", f"email,購入回数,最終購入日\n{rows}".encode())
    streams()
    assert members(api, aws, "lapsed_customers") == set()

    tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC).timestamp() + 5
    evaluator = Evaluator(
        bootstrap.contact_state(),
        bootstrap.segment_store(),
        bootstrap.definitions(),
        bootstrap.sales_alerts(),
        lambda: tomorrow,
        bootstrap.isolation(),
    )
    assert evaluator.sweep(page=4) == 45, "every due contact, though each read is 4 per shard"
    assert members(api, aws, "lapsed_customers") == {f"l{i}@example.com" for i in range(45)}
    assert evaluator.sweep(page=4) == 0, "and nobody twice"


def test_a_record_no_retry_can_fix_is_parked_and_the_rest_of_the_batch_goes_through(aws, api, site, streams):
    load_examples(aws, api)
    identify(api, site, "device-gggg", "good@example.com")
    broken = identify(api, site, "device-hhhh", "broken@example.com")
    streams()
    aws["session"].client("dynamodb").put_item(
        TableName=aws["EventsTable"],
        Item={
            "pk": {"S": f"c#{broken}"},
            "sk": {"S": "2026-11-23T00:00:00#x#000001"},
            "kind": {"S": "pageview"},
            "path": {"S": "/pricing"},
            "at": {"S": "not a time"},
        },
    )
    assert send(api, pageview(site, "device-gggg", "/pricing")).status_code == 204
    streams()  # one batch: the broken record and the good hit

    assert contact_by_email(api, aws, "good@example.com")["scores"]["interest"] == 15
    [parked] = queued_bodies(aws["session"].client("sqs"), aws["ImportDeadLetterQueueUrl"])
    body = json.loads(parked)
    assert (body["type"], body["handler"]) == ("sodate.parked", "events_changed")
    assert body["payload"]["contact_id"] == broken and "not a time" in body["error"]


def test_a_purchase_seen_by_both_streams_records_each_segment_change_once(aws, api, site, streams):
    # GIVEN a known visitor
    load_examples(aws, api)
    contact_id = identify(api, site, "device-eeee", "mio@example.com")
    streams()
    before = [e for e in timeline(api, aws, contact_id) if e["kind"].startswith("segment_")]

    # WHEN she buys through the tag: the order changes her (contacts stream) and the hit
    # is scored and evaluated (events stream) -- two evaluations of the same change
    hit = {
        **pageview(site, "device-eeee", "/thanks"),
        "k": "conversion",
        "n": "purchase",
        "a": "5000",
        "p": {"order_id": "T-77", "skus": "TEA-100"},
    }
    assert send(api, hit).status_code == 204
    streams()

    # THEN every segment she entered or left is on her timeline once
    after = [e for e in timeline(api, aws, contact_id) if e["kind"].startswith("segment_")]
    changes = [(e["kind"], e["name"]) for e in after if e not in before]
    assert ("segment_enter", "first_time_buyers") in changes
    assert len(changes) == len(set(changes)), changes
    assert "first_time_buyers" in contact_by_email(api, aws, "mio@example.com")["segments"]


def test_purchases_dated_by_day_or_without_an_offset_keep_the_person_readable(aws, api, site, streams):
    # GIVEN a shop whose backend writes times three ways: a day, a local time, a time in UTC
    from tests.aws.test_scoring_segments import report_purchase

    load_examples(aws, api)
    for order, written in (
        ("D-1", "2026-11-20"),
        ("D-2", "2026-11-21T10:00:00"),
        ("D-3", "2026-11-22T01:00:00Z"),
    ):
        claims = {"email": "rin@example.com", "order_id": order, "total": 800, "at": written}
        assert report_purchase(api, site, claims).status_code == 200
    streams()

    # THEN her page, timeline and export answer, with the orders in time order and the days as written
    rin = contact_by_email(api, aws, "rin@example.com")
    assert (rin["purchase_count"], rin["first_purchase_date"], rin["last_purchase_date"]) == (
        3,
        "2026-11-20",
        "2026-11-22",
    )
    orders = [e["name"] for e in timeline(api, aws, rin["contact_id"]) if e["kind"] == "purchase"]
    assert orders == ["D-3", "D-2", "D-1"]
    export = api.http.get(f"/admin/contacts/{rin['contact_id']}/export", headers=auth(aws))
    assert export.status_code == 200 and len(export.json_body["timeline"]) >= 3
    # and every order was scored like any other: nothing parked, the points all there
    assert queued_bodies(aws["session"].client("sqs"), aws["ImportDeadLetterQueueUrl"]) == []
    assert [e["name"] for e in timeline(api, aws, rin["contact_id"]) if e["kind"] == "score"].count(
        "interest"
    ) == 3
