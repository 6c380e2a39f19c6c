"""Contact repository: batch reads and writes for imports, single items for the API."""

from __future__ import annotations

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist

from chalicelib.domain.contact import Contact
from chalicelib.domain.emails import email_hash
from chalicelib.store.contact_codec import Item, from_item, to_item
from chalicelib.store.cursors import InvalidCursorError
from chalicelib.store.models import ContactModel, SuppressionModel

BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
_MAX_ATTEMPTS = 8


class StoreError(RuntimeError):
    """DynamoDB kept refusing part of a batch; the import retries from its checkpoint."""


class DynamoContactStore:
    """Speaks to DynamoDB through PynamoDB's connection (one client per process)."""

    def __init__(self, connection: Connection | None = None) -> None:
        self._connection = connection or Connection()

    # --- import path: batches -------------------------------------------------
    def get_many(self, emails: list[str]) -> dict[str, Contact]:
        items = self._batch_get(ContactModel.Meta.table_name, [{"email": {"S": e}} for e in emails])
        return {item["email"]["S"]: from_item(item) for item in items}

    def suppressed_among(self, emails: list[str]) -> set[str]:
        hashes = {email_hash(e): e for e in emails}
        keys = [{"email_hash": {"S": h}} for h in hashes]
        items = self._batch_get(SuppressionModel.Meta.table_name, keys)
        return {hashes[item["email_hash"]["S"]] for item in items}

    def put_many(self, contacts: list[Contact]) -> None:
        """25 items a call; the calls of one batch are in flight together."""
        table = ContactModel.Meta.table_name
        requests = [{"PutRequest": {"Item": to_item(c)}} for c in contacts]
        chunks = [requests[i : i + BATCH_WRITE_LIMIT] for i in range(0, len(requests), BATCH_WRITE_LIMIT)]
        for _ in _pool().map(lambda chunk: self._write_chunk(table, chunk), chunks):
            pass

    def _write_chunk(self, table: str, chunk: list[dict[str, Any]]) -> None:
        pending: dict[str, Any] = {table: chunk}
        for attempt in range(_MAX_ATTEMPTS):
            answer = self._connection.dispatch("BatchWriteItem", {"RequestItems": pending})
            pending = answer.get("UnprocessedItems") or {}
            if not pending:
                return
            _back_off(attempt)
        raise StoreError(f"DynamoDB left {len(pending[table])} contact writes unprocessed.")

    def _batch_get(self, table: str, keys: list[Item]) -> list[Item]:
        found: list[Item] = []
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            pending: dict[str, Any] = {
                table: {"Keys": keys[start : start + BATCH_GET_LIMIT], "ConsistentRead": True}
            }
            for attempt in range(_MAX_ATTEMPTS):
                answer = self._connection.dispatch("BatchGetItem", {"RequestItems": pending})
                found.extend(answer.get("Responses", {}).get(table, []))
                pending = answer.get("UnprocessedKeys") or {}
                if not pending:
                    break
                _back_off(attempt)
            else:
                raise StoreError(f"DynamoDB left {len(pending[table]['Keys'])} reads unprocessed.")
        return found


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="dynamodb")


def _back_off(attempt: int) -> None:
    time.sleep(min(0.05 * 2**attempt, 2.0))


# --- admin path: single items -----------------------------------------------------
class ContactDirectory:
    """One person at a time: look up, create, erase, and the do-not-mail list (admin and forms)."""

    def __init__(self, dynamodb: Any) -> None:
        self._db = dynamodb

    def find_by_email(self, normalized_email: str) -> Contact | None:
        """Every attribute, including what evaluation keeps (scores, segments), which the model omits."""
        answer = self._db.get_item(
            TableName=ContactModel.Meta.table_name,
            Key={"email": {"S": normalized_email}},
            ConsistentRead=True,
        )
        return from_item(answer["Item"]) if "Item" in answer else None

    def find_by_id(self, contact_id: str) -> Contact | None:
        for key in ContactModel.by_contact_id.query(contact_id, limit=1):
            return self.find_by_email(key.email)
        return None

    def page(self, limit: int, cursor: str | None) -> tuple[list[Contact], str | None]:
        """A page of contacts in table order; the cursor is opaque to callers."""
        start = _decode_cursor(cursor)
        request: dict[str, Any] = {"TableName": ContactModel.Meta.table_name, "Limit": limit}
        if start:
            request["ExclusiveStartKey"] = start
        answer = self._db.scan(**request)
        contacts = [from_item(item) for item in answer.get("Items", [])]
        last = answer.get("LastEvaluatedKey")
        return contacts, _encode_cursor(last) if last else None

    def create_if_absent(self, contact: Contact) -> bool:
        """One new person, unless someone with that email exists already (then False)."""
        try:
            self._db.put_item(
                TableName=ContactModel.Meta.table_name,
                Item=to_item(contact),
                ConditionExpression="attribute_not_exists(email)",
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def delete(self, normalized_email: str) -> None:
        ContactModel(email=normalized_email).delete()

    def suppress(self, normalized_email: str, reason: str, at: str) -> None:
        SuppressionModel(email_hash=email_hash(normalized_email), reason=reason, at=at).save()

    def is_suppressed(self, normalized_email: str) -> bool:
        try:
            SuppressionModel.get(email_hash(normalized_email))
        except DoesNotExist:
            return False
        return True


def _encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def _decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        raise InvalidCursorError("The cursor is not one this API gave out.") from None
    if not isinstance(key, dict) or set(key) != {"email"}:
        raise InvalidCursorError("The cursor is not one this API gave out.")
    return key
