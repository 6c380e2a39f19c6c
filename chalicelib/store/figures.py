"""The console's figures, in the console table: per-day series (pk f#<series>, sk <day>), the
gauges (pk gauges#<shard>, sk <name>) and each day's hot leads (pk hot#<day>, sk <contact>#<score>).

A contacts-stream batch moves up to ~45 gauges: an import of 10,000 people a second is a hundred
batches a second, so each batch writes to the shard of its name and the reader adds the shards
(and the unsharded `gauges` of before) up.

A stream batch adds to each counter with one update that also notes the batch it came from
(`last`); when Lambda hands the same batch over again after a failure, a counter that has it
already is left alone.  No transaction: DynamoDB's costs twice the writes, and the emulator's
copies the whole table for each one.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from chalicelib.domain.figures import Fact
from chalicelib.store.dynamo import batch_write, shard_of

SERIES, GAUGES, HOT = "f#", "gauges", "hot#"
GAUGE_SHARDS = 16


class FigureBook:
    """The FigureBook port on DynamoDB."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self._db = dynamodb
        self._table = table

    def add(self, batch: str, counts: dict[tuple[str, str], Decimal], moves: dict[str, int]) -> int:
        """Add a batch's counts and gauge moves; returns how many counters changed (a counter
        that already took this batch is skipped)."""
        changed = 0
        for (series, day), count in sorted(counts.items()):
            changed += self._add({"pk": {"S": f"{SERIES}{series}"}, "sk": {"S": day}}, str(count), batch)
        shard = f"{GAUGES}#{shard_of(batch, GAUGE_SHARDS)}"  # a batch handed over again: the same items
        for gauge, move in sorted(moves.items()):
            changed += self._add({"pk": {"S": shard}, "sk": {"S": gauge}}, str(move), batch)
        return changed

    def _add(self, key: dict[str, Any], n: str, batch: str) -> int:
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": key,
            "UpdateExpression": "ADD n :n",
            "ExpressionAttributeValues": {":n": {"N": n}},
        }
        if batch:
            request["UpdateExpression"] += " SET #last = :batch"
            request["ConditionExpression"] = "attribute_not_exists(#last) OR #last <> :batch"
            request["ExpressionAttributeNames"] = {"#last": "last"}
            request["ExpressionAttributeValues"][":batch"] = {"S": batch}
        try:
            self._db.update_item(**request)
        except self._db.exceptions.ConditionalCheckFailedException:
            return 0  # this batch was counted here before its retry
        return 1

    def note_hot(self, leads: Iterable[Fact], expires_at: int) -> None:
        for lead in leads:
            self._db.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"{HOT}{lead.at[:10]}"},
                    "sk": {"S": f"{lead.contact_id}#{lead.name}"},
                    "contact_id": {"S": lead.contact_id},
                    "score": {"S": lead.name},
                    "value": {"S": lead.value or "0"},
                    "at": {"S": lead.at},
                    "expires_at": {"N": str(expires_at)},
                },
            )

    def series(self, names: Iterable[str], first: str, last: str) -> dict[str, dict[str, Decimal]]:
        """{series: {day: n}} for the days first..last: one query per series, one item per day
        that had anything."""
        found: dict[str, dict[str, Decimal]] = {}
        for name in names:
            items = self._query(f"{SERIES}{name}", "sk BETWEEN :first AND :last", first, last)
            found[name] = {item["sk"]["S"]: Decimal(item["n"]["N"]) for item in items}
        return found

    def gauges(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for pk in _gauge_keys():
            for item in self._query(pk):
                found[item["sk"]["S"]] = found.get(item["sk"]["S"], 0) + int(item["n"]["N"])
        return found

    def set_gauges(self, values: dict[str, int]) -> None:
        """Gauges counted afresh (the recount job): each set outright in `gauges`, its shards
        emptied, the batch marks dropped."""
        for gauge, n in values.items():
            self._db.put_item(
                TableName=self._table, Item={"pk": {"S": GAUGES}, "sk": {"S": gauge}, "n": {"N": str(n)}}
            )
        shards = _gauge_keys()[1:]
        deletes = [
            {"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": g}}}} for pk in shards for g in values
        ]
        batch_write(self._db, self._table, deletes)

    def hot(self, day: str, limit: int) -> list[dict[str, str]]:
        items = self._query(f"{HOT}{day}", limit=limit)
        names = ("contact_id", "score", "value", "at")
        return [{name: i.get(name, {}).get("S", "") for name in names} for i in items]

    def _query(self, pk: str, condition: str = "", *between: str, limit: int = 0) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk" + (f" AND {condition}" if condition else ""),
            "ExpressionAttributeValues": {":pk": {"S": pk}},
        }
        if between:
            request["ExpressionAttributeValues"] |= {":first": {"S": between[0]}, ":last": {"S": between[1]}}
        if limit:
            request["Limit"] = limit
        items: list[dict[str, Any]] = []
        while True:
            answer = self._db.query(**request)
            items += answer.get("Items", [])
            start = answer.get("LastEvaluatedKey")
            if not start or (limit and len(items) >= limit):
                return items
            request["ExclusiveStartKey"] = start


def _gauge_keys() -> list[str]:
    return [GAUGES, *(f"{GAUGES}#{n}" for n in range(GAUGE_SHARDS))]
