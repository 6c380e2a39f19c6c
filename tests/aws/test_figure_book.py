"""The console's gauges in DynamoDB: one update per stream batch, a few items to read however many
people there are, and a batch handed over again counted once."""

from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.store.figures import GAUGE_SHARDS, FigureBook


def _book(aws: dict[str, Any]) -> tuple[FigureBook, Any]:
    db = aws["session"].client("dynamodb")
    return FigureBook(db, aws["ConsoleTable"]), db


def _gauge_items(db: Any, table: str) -> list[dict[str, Any]]:
    items = db.scan(TableName=table)["Items"]
    return [i for i in items if i["pk"]["S"].startswith("gauges")]


def test_a_batch_moves_its_gauges_with_one_item_and_is_counted_once(aws):
    book, db = _book(aws)
    moves = {"contacts": 3, "grade:A1": 2, "rfm:54": 1, "status:subscribed": 3}
    assert book.add("shard-1:100", {}, moves) == 4
    assert book.add("shard-1:100", {}, moves) == 0  # Lambda hands the same batch over again
    assert book.add("shard-1:101", {}, {"contacts": 2, "grade:A1": -1, "rfm:54": 0}) == 2

    assert book.gauges() == {"contacts": 5, "grade:A1": 1, "rfm:54": 1, "status:subscribed": 3}
    assert len(_gauge_items(db, aws["ConsoleTable"])) <= 2  # one item a batch's shard, not one a gauge


def test_the_gauges_read_the_same_few_items_for_a_few_batches_or_many(aws):
    book, db = _book(aws)
    for n in range(200):
        book.add(f"shard-{n % 7}:{n}", {}, {"contacts": 1, f"grade:{'ABCD'[n % 4]}1": 1})

    assert book.gauges() == {"contacts": 200, "grade:A1": 50, "grade:B1": 50, "grade:C1": 50, "grade:D1": 50}
    assert len(_gauge_items(db, aws["ConsoleTable"])) <= GAUGE_SHARDS


def test_counts_kept_unsharded_before_are_added_in(aws):
    book, db = _book(aws)
    table = aws["ConsoleTable"]
    db.put_item(TableName=table, Item={"pk": {"S": "gauges"}, "sk": {"S": "contacts"}, "n": {"N": "10"}})
    book.add("shard-1:1", {}, {"contacts": 4})
    book.add("shard-2:2", {("visits", "2026-12-07"): Decimal(3)}, {"contacts": 1, "grade:A1": 1})

    assert book.gauges() == {"contacts": 15, "grade:A1": 1}
    assert book.series(["visits"], "2026-12-01", "2026-12-31") == {"visits": {"2026-12-07": Decimal(3)}}


def test_a_shard_remembers_enough_batches_for_a_retry_after_others_and_stays_small(aws, monkeypatch):
    import chalicelib.store.figures as figures

    monkeypatch.setattr(figures, "GAUGE_SHARDS", 1)  # every batch on one item: the worst case
    book, db = _book(aws)
    batches = [f"4900{n:017d}" for n in range(150)]
    for batch in batches:
        book.add(batch, {}, {"contacts": 1})
    for batch in batches[-figures.RECENT :]:  # handed over again after later batches
        assert book.add(batch, {}, {"contacts": 1}) == 0

    assert book.gauges() == {"contacts": 150}
    (item,) = _gauge_items(db, aws["ConsoleTable"])
    assert figures.RECENT <= len(item["recent"]["L"]) <= figures.RECENT + figures.TRIM_SLACK


def test_a_days_figure_counts_a_retried_batch_once_after_other_shards_batches(aws):
    book, _ = _book(aws)
    today = ("pageviews_known", "2026-12-07")
    book.add("shard-a:1", {today: Decimal(100)}, {})  # shard A's figures step then fails
    book.add("shard-b:1", {today: Decimal(50)}, {})  # shard B's batch meanwhile
    assert book.add("shard-a:1", {today: Decimal(100)}, {}) == 0  # Lambda hands A's batch over again

    assert book.series(["pageviews_known"], "2026-12-07", "2026-12-07") == {
        "pageviews_known": {"2026-12-07": 150}
    }, "150 page views happened"


class Throttled:
    """The DynamoDB client, refusing every write from the n-th on (throttling that outlasts
    botocore's retries), as the events stream's figures step meets it."""

    def __init__(self, db: Any, from_write: int) -> None:
        self._db, self._writes, self._from = db, 0, from_write
        self.exceptions = db.exceptions

    def _write(self, call: str, **request: Any) -> Any:
        self._writes += 1
        if self._writes >= self._from:
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, call)
        return getattr(self._db, call)(**request)

    def update_item(self, **request: Any) -> Any:
        return self._write("update_item", **request)

    def transact_write_items(self, **request: Any) -> Any:
        return self._write("transact_write_items", **request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


@pytest.mark.parametrize("from_write", [1, 2])
def test_a_batch_that_failed_half_way_and_comes_back_split_in_two_counts_each_hit_once(
    aws, monkeypatch, from_write
):
    monkeypatch.setattr("chalicelib.store.dynamo._back_off", lambda attempt: None)
    book, db = _book(aws)
    views, forms = ("pageviews_anonymous", "2026-12-07"), ("forms", "2026-12-07")

    batch = {views: Decimal(4), forms: Decimal(4)}  # records 100-103 page views, 104-107 forms
    try:
        FigureBook(Throttled(db, from_write), aws["ConsoleTable"]).add("100", batch, {})
    except ClientError:  # Lambda's bisection: each half on its own, the first keeping the name
        book.add("100", {views: Decimal(4)}, {})
        book.add("104", {forms: Decimal(4)}, {})

    found = book.series(["pageviews_anonymous", "forms"], "2026-12-07", "2026-12-07")
    assert found == {"pageviews_anonymous": {"2026-12-07": 4}, "forms": {"2026-12-07": 4}}


def test_batches_moving_many_items_keep_each_items_marks_few_and_a_late_retry_known(aws):
    import chalicelib.store.figures as figures

    book, db = _book(aws)
    days = {("pageviews_known", "2026-12-07"): Decimal(1), ("forms", "2026-12-07"): Decimal(1)}
    batches = [f"5100{n:017d}" for n in range(150)]
    for batch in batches:
        book.add(batch, days, {})
    for batch in batches[-figures.RECENT :]:
        assert book.add(batch, days, {}) == 0

    found = book.series(["pageviews_known", "forms"], "2026-12-07", "2026-12-07")
    assert found == {"pageviews_known": {"2026-12-07": 150}, "forms": {"2026-12-07": 150}}
    for item in db.scan(TableName=aws["ConsoleTable"])["Items"]:
        assert figures.RECENT <= len(item["recent"]["L"]) <= figures.RECENT + 4 * figures.TRIM_SLACK
