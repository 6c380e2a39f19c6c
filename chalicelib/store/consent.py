"""The consent ledger and the sign-ups waiting for confirmation, in the events table.

- ledger entries: pk `k#<contact id>`, sk `<at>#<random>`; written with a condition
  that nothing is there (append-only: no code path updates an entry's content), an
  `expires_at` for DynamoDB's TTL once the person can no longer be mailed;
- a sign-up waiting for its confirmation: pk `p#<nonce>`, taken (deleted and read in
  one call) by the confirmation, so a link confirms once;
- rate counters: pk `r#<what>#<window>`, counted up atomically, expiring with the window.
Neither starts with `c#`, so the events stream hands none of them to evaluation.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from chalicelib.domain.consent import EMAIL, ConsentEntry
from chalicelib.store.dynamo import batch_write

Item = dict[str, Any]
LEDGER = "k#"
PENDING = "p#"
RATE = "r#"
_NEW = "attribute_not_exists(pk)"  # append-only: an entry is never written over


class DynamoConsentLedger:
    def __init__(self, dynamodb: Any, events_table: str) -> None:
        self._db = dynamodb
        self._table = events_table

    def append(self, contact_id: str, entry: ConsentEntry, expires_at: int | None) -> None:
        self._db.put_item(
            TableName=self._table,
            Item=ledger_item(contact_id, entry, expires_at),
            ConditionExpression=_NEW,
        )

    def entries(self, contact_id: str) -> list[ConsentEntry]:
        """Oldest first."""
        return [_entry(item) for page in self._pages(contact_id, consistent=True) for item in page]

    def keep_until(self, contact_id: str, expires_at: int | None) -> None:
        """Every entry's expiry (None: kept): the person became mailable, or stopped being so."""
        for page in self._pages(contact_id, "pk, sk"):
            for key in page:
                if expires_at is None:
                    self._db.update_item(TableName=self._table, Key=key, UpdateExpression="REMOVE expires_at")
                else:
                    self._db.update_item(
                        TableName=self._table,
                        Key=key,
                        UpdateExpression="SET expires_at = :x",
                        ExpressionAttributeValues={":x": {"N": str(expires_at)}},
                    )

    def erase(self, contact_id: str) -> int:
        erased = 0
        for keys in self._pages(contact_id, "pk, sk"):
            batch_write(self._db, self._table, [{"DeleteRequest": {"Key": k}} for k in keys])
            erased += len(keys)
        return erased

    def _pages(self, contact_id: str, projection: str = "", consistent: bool = False) -> Iterator[list[Item]]:
        """The person's ledger items, a page at a time, oldest first."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"{LEDGER}{contact_id}"}},
            "ConsistentRead": consistent,
        }
        if projection:
            request["ProjectionExpression"] = projection
        while True:
            answer = self._db.query(**request)
            yield answer.get("Items", [])
            if "LastEvaluatedKey" not in answer:
                return
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def entry_put(table: str, contact_id: str, entry: ConsentEntry, expires_at: int | None) -> dict[str, Any]:
    """A transaction's Put of one entry: an import writes a person's entries with the person,
    so that no crash between two writes leaves a change of permission without its record."""
    return {
        "Put": {
            "TableName": table,
            "Item": ledger_item(contact_id, entry, expires_at),
            "ConditionExpression": _NEW,
        }
    }


def ledger_item(contact_id: str, entry: ConsentEntry, expires_at: int | None) -> dict[str, Any]:
    """One entry as attributes of its own (no JSON to encode: an import writes many)."""
    item: dict[str, Any] = {
        "pk": {"S": f"{LEDGER}{contact_id}"},
        "sk": {"S": f"{entry.at}#{os.urandom(3).hex()}"},
        "at": {"S": entry.at},
        "change": {"S": entry.change},
        "source": {"S": entry.source},
        "actor": {"S": entry.actor},
        "status": {"S": entry.status},
        "detail": {"M": {k: {"S": v} for k, v in entry.detail.items()}},
    }
    if entry.ip:
        item["ip"] = {"S": entry.ip}
    if entry.user_agent:
        item["user_agent"] = {"S": entry.user_agent}
    if entry.channel != EMAIL:  # an email entry (an import writes many) stays as it always was
        item["channel"] = {"S": entry.channel}
    if expires_at is not None:
        item["expires_at"] = {"N": str(expires_at)}
    return item


def _entry(item: dict[str, Any]) -> ConsentEntry:
    text = {k: v["S"] for k, v in item.items() if "S" in v}
    detail = {k: v["S"] for k, v in item.get("detail", {}).get("M", {}).items()}
    return ConsentEntry(
        text["at"],
        text["change"],
        text["source"],
        text["actor"],
        text["status"],
        detail,
        text.get("ip", ""),
        text.get("user_agent", ""),
        text.get("channel", EMAIL),
    )


class DynamoSignups:
    """Sign-ups waiting for their confirmation, and the counters that limit how fast they come."""

    def __init__(self, dynamodb: Any, events_table: str) -> None:
        self._db = dynamodb
        self._table = events_table

    def keep(self, nonce: str, submission: dict[str, Any], expires_at: int) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"{PENDING}{nonce}"},
                "sk": {"S": "signup"},
                "submission": {"S": json.dumps(submission, ensure_ascii=False)},
                "expires_at": {"N": str(expires_at)},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )

    def look(self, nonce: str) -> dict[str, Any] | None:
        item = self._db.get_item(TableName=self._table, Key=_pending(nonce), ConsistentRead=True).get("Item")
        return json.loads(item["submission"]["S"]) if item else None

    def take(self, nonce: str) -> dict[str, Any] | None:
        """The submission, removed in the same call: of two confirmations, one gets it."""
        old = self._db.delete_item(TableName=self._table, Key=_pending(nonce), ReturnValues="ALL_OLD")
        item = old.get("Attributes")
        return json.loads(item["submission"]["S"]) if item else None

    def count(self, what: str, window_seconds: int, now: float) -> int:
        """How many times `what` happened in the current window, this one included."""
        window = int(now) // window_seconds
        answer = self._db.update_item(
            TableName=self._table,
            Key={"pk": {"S": f"{RATE}{what}#{window}"}, "sk": {"S": "count"}},
            UpdateExpression="ADD n :one SET expires_at = :x",
            ExpressionAttributeValues={":one": {"N": "1"}, ":x": {"N": str((window + 2) * window_seconds)}},
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["n"]["N"])


def _pending(nonce: str) -> dict[str, Any]:
    return {"pk": {"S": f"{PENDING}{nonce}"}, "sk": {"S": "signup"}}
