"""The console's figures, in the console table: per-day series (pk f#<series>, sk <day>), the
gauges and each day's hot leads (pk hot#<day>, sk <contact>#<score>).

The gauges: a contacts-stream batch moves up to ~45 of them at once, and an import of 10,000
people a second is a hundred batches a second.  So a batch adds all its moves with one update to
one item, the shard of its name (pk gauges#<shard>, sk `*`, one attribute a gauge), and the
reader adds up GAUGE_SHARDS items, read at once: the overview reads the same few items for
10,000 contacts as for ten million.  A stack from before the shards has its counts in `gauges`
(sk <name>), read and added in.

A stream batch adds to its counters with one update that also notes the batch it came from;
when Lambda hands the same batch over again after a failure, a counter that has it already is
left alone.  Every item -- a day's series (today's page views take every events-stream shard's
batches) as well as a gauge shard -- keeps the last RECENT batches' marks (`recent`, newest
first, trimmed as it grows), so a shard's retry that comes after other shards' batches is still
known.  No transaction: DynamoDB's costs twice the writes, and the emulator's copies the whole
table for each one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from contextlib import suppress
from decimal import Decimal
from typing import Any

from chalicelib.domain.figures import Fact
from chalicelib.store.dynamo import batch_get, shard_of

SERIES, GAUGES, HOT = "f#", "gauges", "hot#"
GAUGE_SHARDS = 16
ALL = "*"  # the sort key of a shard's one item holding every gauge
RECENT = 64  # batches a gauge item remembers: a retry later than 64 others to its shard counts twice
TRIM_SLACK = 16  # marks let pile up past RECENT before one update drops them
_NOT_GAUGES = frozenset({"pk", "sk", "last", "recent"})


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
            key = {"pk": {"S": f"{SERIES}{series}"}, "sk": {"S": day}}
            changed += self._add(key, {"n": count}, batch, RECENT)
        moved = {gauge: move for gauge, move in moves.items() if move}
        if moved:
            shard = f"{GAUGES}#{shard_of(batch, GAUGE_SHARDS)}"
            changed += len(moved) * self._add({"pk": {"S": shard}, "sk": {"S": ALL}}, moved, batch, RECENT)
        return changed

    def _add(self, key: dict[str, Any], moves: Mapping[str, Decimal | int], batch: str, keep: int = 0) -> int:
        """ADD each move to its attribute of one item, in one update, unless the item took `batch`
        already: it notes the last batch (`last`), or with `keep` the last `keep` batches (`recent`:
        the item many stream shards' batches share, so a retry may come after others)."""
        names = {f"#a{i}": name for i, name in enumerate(sorted(moves))}
        values: dict[str, Any] = {f":{a[1:]}": {"N": str(moves[n])} for a, n in names.items()}
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": key,
            "UpdateExpression": "ADD " + ", ".join(f"{a} :{a[1:]}" for a in names),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if batch and keep:
            mark = {"S": hashlib.blake2b(batch.encode(), digest_size=6).hexdigest()}
            request["UpdateExpression"] += " SET #recent = list_append(:mark, if_not_exists(#recent, :none))"
            request["ConditionExpression"] = "NOT contains(#recent, :seen)"
            request["ReturnValues"] = "UPDATED_NEW"
            names["#recent"] = "recent"
            values |= {":mark": {"L": [mark]}, ":none": {"L": []}, ":seen": mark}
        elif batch:
            request["UpdateExpression"] += " SET #last = :batch"
            request["ConditionExpression"] = "attribute_not_exists(#last) OR #last <> :batch"
            names["#last"] = "last"
            values[":batch"] = {"S": batch}
        try:
            answer = self._db.update_item(**request)
        except self._db.exceptions.ConditionalCheckFailedException:
            return 0  # this batch was counted here before its retry
        noted = len(answer.get("Attributes", {}).get("recent", {}).get("L", ()))
        if keep and noted > keep + TRIM_SLACK:
            self._forget(key, keep, noted)
        return 1

    def _forget(self, key: dict[str, Any], keep: int, noted: int) -> None:
        """Drop the oldest batch marks past the newest `keep` (the list's head is the newest: a
        batch prepended meanwhile only shifts older marks further back)."""
        gone = ", ".join(f"#recent[{i}]" for i in range(keep, noted))
        with suppress(self._db.exceptions.ConditionalCheckFailedException):  # trimmed by another
            self._db.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression=f"REMOVE {gone}",
                ConditionExpression="size(#recent) >= :noted",
                ExpressionAttributeNames={"#recent": "recent"},
                ExpressionAttributeValues={":noted": {"N": str(noted)}},
            )

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
        """Every gauge: the unsharded values of before (one query) and the shards' items (one
        batch read)."""
        shards = [{"pk": {"S": pk}, "sk": {"S": ALL}} for pk in _gauge_keys()[1:]]
        read = batch_get(self._db, {self._table: {"Keys": shards}}).get(self._table, [])
        found: dict[str, int] = {}
        for items in (self._query(GAUGES), read):
            for item in items:
                if item["sk"]["S"] != ALL:  # a value of before
                    moves = {item["sk"]["S"]: item["n"]}
                else:
                    moves = {name: value for name, value in item.items() if name not in _NOT_GAUGES}
                for gauge, value in moves.items():
                    found[gauge] = found.get(gauge, 0) + int(value["N"])
        return found

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
