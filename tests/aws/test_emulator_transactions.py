"""The emulator's transactions behave as DynamoDB's -- all or nothing, and no stream record from
one that failed -- while keeping a copy of only the items they touch (devstack/atomic_writes.py),
not of every table they name."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.config import Config


def test_a_failed_transaction_leaves_items_and_stream_as_they_were(aws: dict[str, Any]) -> None:
    db = aws["session"].client("dynamodb")
    streams = aws["session"].client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
    table = aws["EventsTable"]

    def item(pk: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = db.get_item(
            TableName=table, Key={"pk": {"S": pk}, "sk": {"S": "x"}}
        ).get("Item")
        return found

    def records() -> int:
        shard = streams.describe_stream(StreamArn=aws["EventsStreamArn"])["StreamDescription"]["Shards"][0]
        iterator = streams.get_shard_iterator(
            StreamArn=aws["EventsStreamArn"], ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        return len(streams.get_records(ShardIterator=iterator)["Records"])

    db.put_item(TableName=table, Item={"pk": {"S": "a"}, "sk": {"S": "x"}, "n": {"N": "1"}})
    db.put_item(TableName=table, Item={"pk": {"S": "gone"}, "sk": {"S": "x"}})
    before = records()

    def counter(pk: str) -> dict[str, Any]:
        key = {"pk": {"S": pk}, "sk": {"S": "x"}}
        return {
            "Update": {
                "TableName": table,
                "Key": key,
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }

    failing = [
        counter("a"),
        {"Put": {"TableName": table, "Item": {"pk": {"S": "new"}, "sk": {"S": "x"}}}},
        {"Delete": {"TableName": table, "Key": {"pk": {"S": "gone"}, "sk": {"S": "x"}}}},
        {
            "ConditionCheck": {
                "TableName": table,
                "Key": {"pk": {"S": "missing"}, "sk": {"S": "x"}},
                "ConditionExpression": "attribute_exists(pk)",
            }
        },
    ]
    with pytest.raises(db.exceptions.TransactionCanceledException):
        db.transact_write_items(TransactItems=failing)
    assert item("a") == {"pk": {"S": "a"}, "sk": {"S": "x"}, "n": {"N": "1"}}, "the ADD was undone"
    assert item("new") is None and item("gone") is not None
    assert records() == before, "a cancelled transaction leaves no stream record"

    db.transact_write_items(TransactItems=failing[:3])
    assert item("a")["n"] == {"N": "2"} and item("new") is not None and item("gone") is None  # type: ignore[index]
    assert records() == before + 3
