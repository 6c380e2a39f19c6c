"""No key takes a site's whole traffic, and the views read the same as before: a busy page costs
each container one write a minute, a rejection counter one a second under attack, and the pages
list, the last hit of a page and today's rejections add the shards up."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import clock
from chalicelib.domain.coalesce import Coalescer
from chalicelib.domain.hits import Hit
from chalicelib.store.event_admin import EventAdmin
from chalicelib.store.events import PAGE_SHARDS


class FakeDynamo:
    """Just enough of DynamoDB's client for the events store: items by (pk, sk), SET and ADD."""

    class exceptions:
        class ConditionalCheckFailedException(Exception):
            pass

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.writes: list[str] = []

    def put_item(self, TableName: str, Item: dict[str, Any], **_: Any) -> None:
        self.writes.append(Item["pk"]["S"])
        self.items[(Item["pk"]["S"], Item["sk"]["S"])] = dict(Item)

    def update_item(self, Key: dict[str, Any], UpdateExpression: str, **request: Any) -> None:
        self.writes.append(Key["pk"]["S"])
        item = self.items.setdefault((Key["pk"]["S"], Key["sk"]["S"]), dict(Key))
        values = request["ExpressionAttributeValues"]
        sets, _, adds = UpdateExpression.removeprefix("SET ").partition("ADD ")
        for clause in filter(None, (c.strip() for c in sets.split(","))):
            name, value = (part.strip() for part in clause.split("="))
            item[name] = values[value]
        if adds:
            name, value = adds.split()
            item[name] = {"N": str(int(item.get(name, {"N": "0"})["N"]) + int(values[value]["N"]))}

    def get_item(self, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        item = self.items.get((Key["pk"]["S"], Key["sk"]["S"]))
        return {"Item": item} if item else {}

    def query(
        self, ExpressionAttributeValues: dict[str, Any], Limit: int = 1000, **request: Any
    ) -> dict[str, Any]:
        pk = ExpressionAttributeValues[":pk"]["S"]
        after = request.get("ExclusiveStartKey", {}).get("sk", {}).get("S", "")
        found = sorted((sk, item) for (p, sk), item in self.items.items() if p == pk and sk > after)
        answer: dict[str, Any] = {"Items": [item for _, item in found[:Limit]]}
        if len(found) > Limit:
            answer["LastEvaluatedKey"] = {"pk": {"S": pk}, "sk": {"S": found[Limit - 1][0]}}
        return answer


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The stopwatch the stores read, moved by the test."""
    moment = [1000.0]
    monkeypatch.setattr(clock, "stopwatch", lambda: moment[0])
    return moment


def view(path: str) -> Hit:
    return Hit("s_shop", "visitor-01", "pageview", f"https://shop.example.jp{path}", path)


def test_a_quiet_key_writes_every_hit_and_a_busy_one_once_a_window_carrying_the_held_hits() -> None:
    counter = Coalescer(burst=3, window=60)
    assert [counter.add("page", 0.0) for _ in range(5)] == [1, 1, 1, 0, 0]
    assert counter.held() == 2
    assert counter.add("page", 30.0) == 0, "still within the minute"
    assert counter.add("page", 61.0) == 4, "the three held and this one"
    assert [counter.add("other", 61.0) for _ in range(2)] == [1, 1], "each key has its own"


def test_a_page_viewed_5000_times_costs_a_container_a_handful_of_writes_and_loses_no_hit(
    now: list[float],
) -> None:
    db = FakeDynamo()
    store = EventAdmin(db, "sites", "events")
    for n in range(5000):
        now[0] = 1000.0 + n / 50  # 50 a second for 100 seconds
        store.record(
            view("/pricing"), "a#s_shop#2026-11-23", f"2026-11-23T03:00:{n % 60:02d}.000+00:00", None
        )
    page_writes = [pk for pk in db.writes if pk.startswith("p#")]
    assert len(page_writes) <= 3 + 2, "the burst, then one a minute"
    (line,) = store.pages("s_shop", 10, None)[0]
    assert line["hits"] + store._pages.held() == 5000
    anonymous = {pk for pk in db.writes if pk.startswith("a#")}
    assert len(anonymous) == 32 and all(pk.startswith("a#s_shop#2026-11-23#") for pk in anonymous)


def test_the_pages_list_reads_every_shard_in_path_order_a_page_at_a_time(now: list[float]) -> None:
    db = FakeDynamo()
    store = EventAdmin(db, "sites", "events")
    paths = [f"/p/{n:03d}" for n in range(40)]
    for path in reversed(paths):
        store.record(view(path), "v#s_shop#visitor-01", "2026-11-23T03:00:00.000+00:00", None)
    # a line from before the shards: its page's hits add up, the newest hit shows
    db.items[("p#s_shop", "/p/007")] = {
        "pk": {"S": "p#s_shop"},
        "sk": {"S": "/p/007"},
        "last_hit": {"S": "2026-11-24T00:00:00.000+00:00"},
        "last_url": {"S": "https://shop.example.jp/p/007?old"},
        "hits": {"N": "41"},
    }
    assert len({pk for pk in db.writes if pk.startswith("p#")}) > PAGE_SHARDS // 2
    seen, cursor = [], None
    while True:
        page, cursor = store.pages("s_shop", 15, cursor)
        seen += page
        if not cursor:
            break
    assert [p["path"] for p in seen] == paths
    old = seen[7]
    assert (old["hits"], old["last_url"]) == (42, "https://shop.example.jp/p/007?old")
    assert store.page_last_hit("s_shop", "/p/003") == "2026-11-23T03:00:00.000+00:00"
    assert store.page_last_hit("s_shop", "/p/007") == "2026-11-23T03:00:00.000+00:00"
    assert store.page_last_hit("s_shop", "/nowhere") is None


def test_rejections_are_exact_when_few_and_bounded_under_attack_across_containers(now: list[float]) -> None:
    db = FakeDynamo()
    containers = [EventAdmin(db, "sites", "events") for _ in range(20)]
    for _ in range(8):
        containers[0].count_rejected("s_shop", "bad_link_token", "2026-11-23")
    assert containers[0].rejected("s_shop", "2026-11-23") == {"bad_link_token": 8}
    db.writes.clear()
    for n in range(20_000):  # 10,000 a second for two seconds, over 20 containers
        now[0] = 2000.0 + n / 10_000
        containers[n % 20].count_rejected("s_shop", "foreign_origin", "2026-11-23")
    assert len(db.writes) <= 20 * (10 + 2), "a burst, then one a second a container"
    counted = containers[0].rejected("s_shop", "2026-11-23")["foreign_origin"]
    assert counted + sum(c._rejected.held() for c in containers) == 20_000
