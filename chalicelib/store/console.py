"""The console table: sessions (pk s#<key>), set-password steps (c#<key>), failed sign-in counters
(a#<who>#<window>) -- all ending by TTL, and read as ended once past their time whatever TTL has
done yet -- the moment before which a person's sessions no longer count (u#<email>: their role
changed or their account was switched off), and the audit log (audit#<day>, sk <time>#<nonce>),
which never ends."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from chalicelib.domain.console import AuditEntry, PasswordChangeNeeded, Session

SESSION, STEP, FAILURES, AUDIT, MEMBER = "s#", "c#", "a#", "audit#", "u#"
_FIRST = {"pk": {"S": "audit"}, "sk": {"S": "first"}}


class ConsoleTable:
    """Both ports of the console: ConsoleSessions and AuditTrail."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self._db = dynamodb
        self._table = table
        self._first_noted = False  # this container has written the first day's marker already

    def put(self, key: str, session: Session, expires_at: int) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={
                **_session(key),
                "email": {"S": session.email},
                "role": {"S": session.role},
                "csrf": {"S": session.csrf},
                "created_at": {"N": repr(session.created_at)},
                "seen_at": {"N": repr(session.seen_at)},
                "expires_at": {"N": str(expires_at)},
            },
        )

    def get(self, key: str) -> Session | None:
        item = self._db.get_item(TableName=self._table, Key=_session(key), ConsistentRead=True).get("Item")
        if not item:
            return None
        return Session(
            item["email"]["S"],
            item["role"]["S"],
            item["csrf"]["S"],
            float(item["created_at"]["N"]),
            float(item["seen_at"]["N"]),
        )

    def touch(self, key: str, seen_at: float, expires_at: int) -> None:
        """Note the last use -- of a session still there: a signed-out one stays gone."""
        with contextlib.suppress(self._db.exceptions.ConditionalCheckFailedException):
            self._db.update_item(
                TableName=self._table,
                Key=_session(key),
                UpdateExpression="SET seen_at = :seen, expires_at = :x",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":seen": {"N": repr(seen_at)}, ":x": {"N": str(expires_at)}},
            )

    def delete(self, key: str) -> None:
        self._db.delete_item(TableName=self._table, Key=_session(key))

    def cut_off(self, email: str, at: float) -> None:
        self._db.put_item(TableName=self._table, Item={**_member(email), "cut": {"N": repr(at)}})

    def cut_of(self, email: str) -> float | None:
        item = self._db.get_item(TableName=self._table, Key=_member(email), ConsistentRead=True).get("Item")
        return float(item["cut"]["N"]) if item else None

    def keep_step(self, key: str, step: PasswordChangeNeeded, expires_at: int) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={
                **_step(key),
                "email": {"S": step.email},
                "challenge": {"S": step.challenge},
                "expires_at": {"N": str(expires_at)},
            },
        )

    def step(self, key: str, now: float) -> PasswordChangeNeeded | None:
        item = self._db.get_item(TableName=self._table, Key=_step(key), ConsistentRead=True).get("Item")
        if not item or float(item["expires_at"]["N"]) <= now:
            return None
        return PasswordChangeNeeded(item["email"]["S"], item["challenge"]["S"])

    def drop_step(self, key: str) -> None:
        self._db.delete_item(TableName=self._table, Key=_step(key))

    def failures(self, who: str, window_seconds: int, now: float) -> int:
        key = _failures(who, window_seconds, now)
        item = self._db.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return int(item["n"]["N"]) if item else 0

    def fail(self, who: str, window_seconds: int, now: float) -> int:
        window = int(now) // window_seconds
        answer = self._db.update_item(
            TableName=self._table,
            Key=_failures(who, window_seconds, now),
            UpdateExpression="ADD n :one SET expires_at = :x",
            ExpressionAttributeValues={":one": {"N": "1"}, ":x": {"N": str((window + 2) * window_seconds)}},
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["n"]["N"])

    # --- the audit log ------------------------------------------------------------------------
    def append(self, entry: AuditEntry) -> None:
        item = {
            "pk": {"S": f"{AUDIT}{entry.day}"},
            "sk": {"S": f"{entry.at}#{os.urandom(4).hex()}"},  # two changes in one millisecond both stay
            "at": {"S": entry.at},
            "who": {"S": entry.who},
            "method": {"S": entry.method},
            "route": {"S": entry.route},
            "target": {"S": entry.target},
            "detail": {"M": {k: {"S": v} for k, v in entry.detail.items()}},
        }
        self._db.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        if not self._first_noted:
            self._db.update_item(
                TableName=self._table,
                Key=_FIRST,
                UpdateExpression="SET #day = if_not_exists(#day, :day)",
                ExpressionAttributeNames={"#day": "day"},
                ExpressionAttributeValues={":day": {"S": entry.day}},
            )
            self._first_noted = True

    def first_day(self) -> str | None:
        item = self._db.get_item(TableName=self._table, Key=_FIRST).get("Item")
        return item["day"]["S"] if item else None

    def day(self, day: str, limit: int, after: str | None) -> tuple[list[AuditEntry], str | None]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"{AUDIT}{day}"}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if after:
            query["ExclusiveStartKey"] = {"pk": {"S": f"{AUDIT}{day}"}, "sk": {"S": after}}
        answer = self._db.query(**query)
        last = answer.get("LastEvaluatedKey")
        return [_entry(item) for item in answer.get("Items", [])], last["sk"]["S"] if last else None


def _entry(item: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        item["at"]["S"],
        item["who"]["S"],
        item["method"]["S"],
        item["route"]["S"],
        item.get("target", {}).get("S", ""),
        {k: v["S"] for k, v in item.get("detail", {}).get("M", {}).items()},
    )


def _session(key: str) -> dict[str, Any]:
    return {"pk": {"S": f"{SESSION}{key}"}, "sk": {"S": "session"}}


def _member(email: str) -> dict[str, Any]:
    return {"pk": {"S": f"{MEMBER}{email}"}, "sk": {"S": "member"}}


def _step(key: str) -> dict[str, Any]:
    return {"pk": {"S": f"{STEP}{key}"}, "sk": {"S": "step"}}


def _failures(who: str, window_seconds: int, now: float) -> dict[str, Any]:
    return {"pk": {"S": f"{FAILURES}{who}#{int(now) // window_seconds}"}, "sk": {"S": "count"}}
