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
known.  A batch that moves more than one item moves them in one transaction (twice the write
units, and the emulator copies the table for each): Lambda splits a batch that failed half way in
two, and names the second half anew, so the items the first try did move would take that half
again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from contextlib import suppress
from decimal import Decimal
from typing import Any

from chalicelib.domain.figures import Fact
from chalicelib.store.dynamo import TRANSACTION, batch_get, shard_of, transact

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
        that already took this batch is skipped).  Counters on more than one item are added in
        one transaction: a batch that failed half way comes back split in two (Lambda's
        bisection names the second half anew), and the items the first try had moved would
        take that half again."""
        updates: list[tuple[dict[str, Any], Mapping[str, Decimal | int]]] = [
            ({"pk": {"S": f"{SERIES}{series}"}, "sk": {"S": day}}, {"n": count})
            for (series, day), count in sorted(counts.items())
        ]
        moved = {gauge: move for gauge, move in moves.items() if move}
        if moved:
            updates.append(
                ({"pk": {"S": f"{GAUGES}#{shard_of(batch, GAUGE_SHARDS)}"}, "sk": {"S": ALL}}, moved)
            )
        if len(updates) == 1 or not batch:
            return sum(len(moves) * self._add(key, moves, batch) for key, moves in updates)
        trim = int(_mark(batch)["S"], 16) % TRIM_SLACK == 0  # now and then, the items' marks trimmed
        changed = 0
        for start in range(0, len(updates), TRANSACTION):
            pending = updates[start : start + TRANSACTION]
            failed = {0}
            while pending and failed:  # an item that failed its condition had the batch already
                failed = transact(self._db, [{"Update": self._request(k, m, batch)} for k, m in pending])
                pending = [update for i, update in enumerate(pending) if i not in failed]
            changed += sum(len(moves) for _, moves in pending)
            for key, _ in pending if trim else ():
                self._trim(key)
        return changed

    def _request(self, key: dict[str, Any], moves: Mapping[str, Decimal | int], batch: str) -> dict[str, Any]:
        """An update that ADDs each move to its attribute of one item; with a `batch`, it notes
        the batch among the item's recent ones, unless the item took it already."""
        names = {f"#a{i}": name for i, name in enumerate(sorted(moves))}
        values: dict[str, Any] = {f":{a[1:]}": {"N": str(moves[n])} for a, n in names.items()}
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": key,
            "UpdateExpression": "ADD " + ", ".join(f"{a} :{a[1:]}" for a in names),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if batch:
            mark = _mark(batch)
            request["UpdateExpression"] += " SET #recent = list_append(:mark, if_not_exists(#recent, :none))"
            request["ConditionExpression"] = "NOT contains(#recent, :seen)"
            names["#recent"] = "recent"
            values |= {":mark": {"L": [mark]}, ":none": {"L": []}, ":seen": mark}
        return request

    def _trim(self, key: dict[str, Any]) -> None:
        found = self._db.get_item(
            TableName=self._table,
            Key=key,
            ProjectionExpression="#recent",
            ExpressionAttributeNames={"#recent": "recent"},
        )
        noted = len(found.get("Item", {}).get("recent", {}).get("L", ()))
        if noted > RECENT + TRIM_SLACK:
            self._forget(key, RECENT, noted)

    def _add(self, key: dict[str, Any], moves: Mapping[str, Decimal | int], batch: str) -> int:
        """ADD each move to its attribute of one item, in one update, unless the item took `batch`
        already (one of the last RECENT batches noted on it: `recent`, the item many stream
        shards' batches share, so a retry may come after others)."""
        try:
            answer = self._db.update_item(**self._request(key, moves, batch), ReturnValues="UPDATED_NEW")
        except self._db.exceptions.ConditionalCheckFailedException:
            return 0  # this batch was counted here before its retry
        noted = len(answer.get("Attributes", {}).get("recent", {}).get("L", ()))
        if noted > RECENT + TRIM_SLACK:
            self._forget(key, RECENT, noted)
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


def _mark(batch: str) -> dict[str, str]:
    """The short mark a batch leaves on the items it moved."""
    return {"S": hashlib.blake2b(batch.encode(), digest_size=6).hexdigest()}
