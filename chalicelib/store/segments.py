"""Segment membership: who is in each segment, and how many (the segments table).

Entering writes the member and adds one to the segment's size in one
transaction that only succeeds if the person was not a member yet, so a retry
never counts anyone twice; leaving is the mirror image.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chalicelib.store.cursors import decode, encode

SIZE = "#size"  # sorts before every contact id


def _member_is(condition: str) -> dict[str, Any]:
    return {"ConditionExpression": condition, "ExpressionAttributeNames": {"#m": "member"}}


class SegmentStore:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._db = dynamodb
        self._table = table

    def move(self, contact_id: str, email: str, entered: list[str], left: list[str], at: str) -> None:
        """All of one person's changes in one transaction; if any was made before (a retry),
        each is tried on its own so the sizes still count every member once."""
        if not entered and not left:
            return
        writes = [self._enter_write(s, contact_id, email, at) for s in entered]
        writes += [self._leave_write(s, contact_id) for s in left]
        counts = [self._count(s, 1) for s in entered] + [self._count(s, -1) for s in left]
        if len(writes) * 2 <= 100:
            try:
                self._db.transact_write_items(TransactItems=writes + counts)
                return
            except self._db.exceptions.TransactionCanceledException:
                pass
        for name in entered:
            self.enter(name, contact_id, email, at)
        for name in left:
            self.leave(name, contact_id)

    def enter(self, segment: str, contact_id: str, email: str, at: str) -> bool:
        """False: already a member (nothing counted)."""
        return self._change(self._enter_write(segment, contact_id, email, at), self._count(segment, 1))

    def leave(self, segment: str, contact_id: str) -> bool:
        return self._change(self._leave_write(segment, contact_id), self._count(segment, -1))

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

    def _change(self, write: dict[str, Any], count: dict[str, Any]) -> bool:
        try:
            self._db.transact_write_items(TransactItems=[write, count])
        except self._db.exceptions.TransactionCanceledException:
            return False  # already in (or already out): nothing to count
        return True

    def sizes(self, segments: list[str]) -> dict[str, int]:
        sizes = dict.fromkeys(segments, 0)
        for start in range(0, len(segments), 100):
            keys = [{"segment": {"S": s}, "member": {"S": SIZE}} for s in segments[start : start + 100]]
            answer = self._db.batch_get_item(RequestItems={self._table: {"Keys": keys}})
            for item in answer.get("Responses", {}).get(self._table, []):
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
