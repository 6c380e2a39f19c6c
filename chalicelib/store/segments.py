"""Segment membership: who is in each segment, and how many (the segments table).

Entering writes the member, adds one to the segment's size and puts a
`segment_enter` entry on the person's timeline in one transaction that only
succeeds if the person was not a member yet, so a retry -- or a second
evaluation of the same change from the other stream -- never counts or
records anyone twice; leaving is the mirror image.  Only a failed condition means "made
before": a transaction DynamoDB cancels for a conflict (every change also updates the busy
segment's size item) or for throttling goes again after a pause, and a change still not made
is handed back as missed, never taken for done.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chalicelib.domain.errors import TransientError
from chalicelib.domain.evaluation import Move, Moved
from chalicelib.domain.timeline import segment_entry
from chalicelib.store.dynamo import batch_get, decode, encode, transact

SIZE = "#size"  # sorts before every contact id
MAX_TRANSACTION = 100  # items in one TransactWriteItems
ATTEMPTS = 4  # tries of one transaction that conflicts or is throttled; then the stream retries


TimelineEntry = tuple[str, dict[str, str]]


def _items(group: list[Move]) -> int:
    """Transaction items for a group: two per change (membership and timeline), plus one size
    update per segment touched."""
    changes = 2 * sum(len(m.entered) + len(m.left) for m in group)
    segments = {name for m in group for name in (*m.entered, *m.left)}
    return changes + len(segments)


def _member_is(condition: str) -> dict[str, Any]:
    return {"ConditionExpression": condition, "ExpressionAttributeNames": {"#m": "member"}}


class SegmentStore:
    def __init__(self, dynamodb: Any, table: str, events_table: str) -> None:
        self._db = dynamodb
        self._table = table
        self._events = events_table

    def move_many(self, moves: list[Move], at: str) -> Moved:
        """Many people's changes in few transactions (each at most 100 items, one size update
        per segment with the summed change).  If any change was made before (a retry, or the
        other stream evaluating the same change), that transaction's people are moved one
        change at a time, so every member counts once and every change is recorded once.
        A conflict or throttling that outlasts the retries stops the work: that change and
        every one after it come back as missed (made neither now nor before)."""
        groups: list[list[Move]] = []
        for move in moves:
            if not move.entered and not move.left:
                continue
            if groups and _items([*groups[-1], move]) <= MAX_TRANSACTION:
                groups[-1].append(move)
            else:
                groups.append([move])
        made: list[TimelineEntry] = []
        for number, group in enumerate(groups):
            entries, missed = self._move_together(group, at)
            made += entries
            if missed:  # the table is busy or throttled: the retry does the rest
                return Moved(made, missed + [m for later in groups[number + 1 :] for m in later])
        return Moved(made, [])

    def _move_together(self, group: list[Move], at: str) -> tuple[list[TimelineEntry], list[Move]]:
        writes: list[dict[str, Any]] = []
        entries: list[TimelineEntry] = []
        deltas: dict[str, int] = {}
        for m in group:
            writes += [self._enter_write(s, m.contact_id, m.email, at) for s in m.entered]
            writes += [self._leave_write(s, m.contact_id) for s in m.left]
            entries += [(m.contact_id, segment_entry(at, s, True)) for s in m.entered]
            entries += [(m.contact_id, segment_entry(at, s, False)) for s in m.left]
            for name in m.entered:
                deltas[name] = deltas.get(name, 0) + 1
            for name in m.left:
                deltas[name] = deltas.get(name, 0) - 1
        counts = [self._count(name, delta) for name, delta in deltas.items() if delta]
        recorded = [self._timeline_put(contact_id, entry) for contact_id, entry in entries]
        if len(writes) + len(counts) + len(recorded) <= MAX_TRANSACTION:
            try:
                if not transact(self._db, writes + counts + recorded, ATTEMPTS):
                    return entries, []
            except TransientError:
                pass  # one change at a time holds each size item for a shorter moment
        return self._move_one_by_one(group, at)

    def _move_one_by_one(self, group: list[Move], at: str) -> tuple[list[TimelineEntry], list[Move]]:
        made: list[TimelineEntry] = []
        for number, m in enumerate(group):
            changes = [(name, True) for name in m.entered] + [(name, False) for name in m.left]
            for done, (name, entering) in enumerate(changes):
                try:
                    if entering:
                        changed = self.enter(name, m.contact_id, m.email, at)
                    else:
                        changed = self._leave(name, m.contact_id, at)
                except TransientError:
                    rest = changes[done:]
                    left = Move(
                        m.contact_id,
                        m.email,
                        [n for n, enters in rest if enters],
                        [n for n, enters in rest if not enters],
                    )
                    return made, [left, *group[number + 1 :]]
                if changed:
                    made.append((m.contact_id, segment_entry(at, name, entering)))
        return made, []

    def enter(self, segment: str, contact_id: str, email: str, at: str) -> bool:
        """False: already a member (nothing counted, nothing recorded); TransientError: not
        written (conflicts or throttling outlasted the retries)."""
        entry = self._timeline_put(contact_id, segment_entry(at, segment, True))
        return self._change(self._enter_write(segment, contact_id, email, at), self._count(segment, 1), entry)

    def _leave(self, segment: str, contact_id: str, at: str) -> bool:
        entry = self._timeline_put(contact_id, segment_entry(at, segment, False))
        return self._change(self._leave_write(segment, contact_id), self._count(segment, -1), entry)

    def leave(self, segment: str, contact_id: str) -> bool:
        """An erased person leaves (their timeline is gone with them); TransientError when the
        change could not be made yet, so the erasure's record is retried, not forgotten."""
        return self._change(self._leave_write(segment, contact_id), self._count(segment, -1))

    def _timeline_put(self, contact_id: str, entry: dict[str, str]) -> dict[str, Any]:
        item = {"pk": {"S": f"c#{contact_id}"}, **{k: {"S": v} for k, v in entry.items()}}
        return {"Put": {"TableName": self._events, "Item": item}}

    def _enter_write(self, segment: str, contact_id: str, email: str, at: str) -> dict[str, Any]:
        item = {
            "segment": {"S": segment},
            "member": {"S": contact_id},
            "email": {"S": email},
            "since": {"S": at},
        }
        return {"Put": {"TableName": self._table, "Item": item, **_member_is("attribute_not_exists(#m)")}}

    def _leave_write(self, segment: str, contact_id: str) -> dict[str, Any]:
        key = {"segment": {"S": segment}, "member": {"S": contact_id}}
        return {"Delete": {"TableName": self._table, "Key": key, **_member_is("attribute_exists(#m)")}}

    def _count(self, segment: str, delta: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"segment": {"S": segment}, "member": {"S": SIZE}},
                "UpdateExpression": "ADD #c :d",
                "ExpressionAttributeNames": {"#c": "count"},
                "ExpressionAttributeValues": {":d": {"N": str(delta)}},
            }
        }

    def _change(self, *writes: dict[str, Any]) -> bool:
        """False: the membership's condition failed, so already in (or already out)."""
        return not transact(self._db, list(writes), ATTEMPTS)

    def sizes(self, segments: list[str]) -> dict[str, int]:
        sizes = dict.fromkeys(segments, 0)
        for start in range(0, len(segments), 100):
            keys = [{"segment": {"S": s}, "member": {"S": SIZE}} for s in segments[start : start + 100]]
            for item in batch_get(self._db, {self._table: {"Keys": keys}}).get(self._table, []):
                sizes[item["segment"]["S"]] = int(item["count"]["N"])
        return sizes

    def members(
        self, segment: str, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, str]], str | None]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#s = :s AND #m > :size",
            "ExpressionAttributeNames": {"#s": "segment", "#m": "member"},
            "ExpressionAttributeValues": {":s": {"S": segment}, ":size": {"S": SIZE}},
            "Limit": max(1, min(limit, 500)),
        }
        if cursor:
            query["ExclusiveStartKey"] = {"segment": {"S": segment}, "member": {"S": decode(cursor)}}
        answer = self._db.query(**query)
        people = [
            {"contact_id": i["member"]["S"], "email": i["email"]["S"], "since": i["since"]["S"]}
            for i in answer.get("Items", [])
        ]
        last = answer.get("LastEvaluatedKey")
        return people, encode(last["member"]["S"]) if last else None

    def all_members(self, segment: str) -> Iterator[dict[str, str]]:
        cursor = None
        while True:
            page, cursor = self.members(segment, 500, cursor)
            yield from page
            if cursor is None:
                return
