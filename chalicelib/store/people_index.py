"""The console's people index, a table of its own (pk x#<cell or name letter>#<shard>, sk the
address, or the name key and the address): see domain/people_index.py.  Not in the console
table, whose sessions and counters are read on every page: the index grows with the contacts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chalicelib.domain.people_index import LEGACY_SHARDS
from chalicelib.domain.values import plain_digits
from chalicelib.store.dynamo import InvalidCursorError, batch_write, decode, encode


class PeopleIndexTable:
    """The PeopleIndex port on DynamoDB."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self._db = dynamodb
        self._table = table

    def apply(self, puts: Iterable[tuple[str, str]], deletes: Iterable[tuple[str, str]]) -> None:
        requests: list[dict[str, Any]] = [
            {"PutRequest": {"Item": {"pk": {"S": pk}, "sk": {"S": sk}}}} for pk, sk in sorted(puts)
        ]
        gone = {*deletes, *(_legacy(pk, sk) for pk, sk in deletes)}  # (an unsharded entry: itself)
        requests += [
            {"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}} for pk, sk in sorted(gone)
        ]
        if requests:
            batch_write(self._db, self._table, requests)

    def starting(self, partitions: list[str], prefix: str, limit: int) -> list[str]:
        """The first `limit` sort keys starting with `prefix` across the partitions, in order."""
        found: list[str] = []
        for pk in partitions:
            answer = self._db.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
                ExpressionAttributeValues={":pk": {"S": pk}, ":p": {"S": prefix}},
                ProjectionExpression="sk",
                Limit=limit,
            )
            found += [item["sk"]["S"] for item in answer.get("Items", [])]
        return sorted(found)[:limit]

    def page(self, partitions: list[str], limit: int, cursor: str | None) -> tuple[list[str], str | None]:
        """Sort keys partition after partition, `limit` at a time; the cursor goes on from the last."""
        at, after = 0, ""
        if cursor:
            mark, _, after = decode(cursor).partition("|")
            if not mark.isdigit() or int(mark) >= len(partitions):
                raise InvalidCursorError("The cursor is not one this API gave out.")
            at = int(mark)
        found: list[str] = []
        while at < len(partitions) and len(found) < limit:
            request: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": partitions[at]}},
                "ProjectionExpression": "sk",
                "Limit": limit - len(found),
            }
            if after:
                request["ExclusiveStartKey"] = {"pk": {"S": partitions[at]}, "sk": {"S": after}}
            answer = self._db.query(**request)
            found += [item["sk"]["S"] for item in answer.get("Items", [])]
            if answer.get("LastEvaluatedKey"):
                after = found[-1]
            else:
                at, after = at + 1, ""
        return found, (None if at >= len(partitions) else encode(f"{at}|{after}"))


def _legacy(pk: str, sk: str) -> tuple[str, str]:
    """Where the entry was written when the index had 8 shards: readers ask every shard, so an
    old entry is still found, and a person leaving the cell must leave it there too.  A number's
    entry (x#phone:<hash>) came later and was never sharded: it is where it always was."""
    partition, _, shard = pk.rpartition("#")
    if not plain_digits(shard):
        return pk, sk
    return f"{partition}#{int(shard) % LEGACY_SHARDS}", sk
