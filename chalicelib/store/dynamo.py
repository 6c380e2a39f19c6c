"""The one helper module for talking to DynamoDB through boto3's client: batch reads and
writes carried to the end (what DynamoDB leaves unprocessed is sent again, with backoff),
conditional puts in transactions, shard hashing for the sparse due indexes, and opaque page
cursors."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import time
from typing import Any, TypeGuard

from chalicelib.domain.errors import BadInputError, TransientError

ATTEMPTS = 8
BATCH_WRITE = 25  # items in one BatchWriteItem
BATCH_GET = 100  # keys in one BatchGetItem
TRANSACTION = 100  # items in one TransactWriteItems
KEY_BYTES = 1024  # the longest sort key DynamoDB takes (a partition key: 2,048)
Item = dict[str, Any]


class InvalidCursorError(BadInputError):
    """A page cursor this API did not give out."""


def _back_off(attempt: int) -> None:
    """Exponential, with jitter: two writers that collided do not collide again in step."""
    time.sleep(min(0.05 * 2**attempt, 1.0) * random.uniform(0.5, 1.0))


def batch_get(db: Any, wanted: dict[str, Any]) -> dict[str, list[Item]]:
    """Items by table for one request's worth of keys (at most 100); TransientError if
    DynamoDB keeps leaving keys unprocessed (throttling that outlasts the backoff)."""
    found: dict[str, list[Item]] = {}
    for attempt in range(ATTEMPTS):
        answer = db.batch_get_item(RequestItems=wanted)
        for table, items in answer.get("Responses", {}).items():
            found.setdefault(table, []).extend(items)
        wanted = answer.get("UnprocessedKeys") or {}
        if not wanted:
            return found
        _back_off(attempt)
    raise TransientError(f"DynamoDB kept refusing to read from {', '.join(wanted)}")


def batch_write(db: Any, table: str, requests: list[Item]) -> None:
    """Put and delete requests on one table, 25 to a call, each call carried to the end."""
    for start in range(0, len(requests), BATCH_WRITE):
        pending: dict[str, Any] = {table: requests[start : start + BATCH_WRITE]}
        for attempt in range(ATTEMPTS):
            pending = db.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
            _back_off(attempt)
        else:
            raise TransientError(f"DynamoDB kept refusing writes to {table}")


def transact(db: Any, items: list[Item], attempts: int = ATTEMPTS) -> set[int]:
    """One TransactWriteItems carried to the end: the positions of the items whose condition
    failed (DynamoDB then wrote nothing), or an empty set (it wrote everything).  Only a failed
    condition is an answer; a conflict with another transaction on one of the items, or
    throttling, goes again after a pause, and TransientError if it outlasts `attempts` tries
    (the caller's batch is retried whole, never taken for done)."""
    reasons: list[str] = []
    for attempt in range(attempts):
        try:
            db.transact_write_items(TransactItems=items)
            return set()
        except db.exceptions.TransactionCanceledException as error:
            codes = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if "ValidationError" in codes:
                raise
            failed = {i for i, code in enumerate(codes) if code == "ConditionalCheckFailed"}
            if failed:
                return failed
            reasons = sorted({str(c) for c in codes if c not in (None, "None")})
        if attempt < attempts - 1:
            _back_off(attempt)
    raise TransientError(f"DynamoDB kept cancelling a transaction ({', '.join(reasons) or 'no reason'})")


def packed(groups: list[list[Item]], size: int = TRANSACTION) -> list[list[list[Item]]]:
    """Groups of writes in order, as few transactions of at most `size` items as fit, no group
    split between two."""
    packs: list[list[list[Item]]] = []
    room = 0
    for group in groups:
        if not packs or len(group) > room:
            packs.append([])
            room = size
        packs[-1].append(group)
        room -= len(group)
    return packs


def transact_puts(db: Any, groups: list[list[Item]], key: str) -> set[str]:
    """Groups of puts, at most 100 puts in all, in TransactWriteItems carried to the end.  A
    group's first put carries a condition and the `key` that names it; the puts after it (a
    person's consent entries) are written with it or not at all.  The `key` values of the
    groups whose condition failed (none of those is written, every other group is).  DynamoDB
    cancels the whole transaction when one condition fails, naming it among the cancellation
    reasons: the other groups go again without it, at once.  A conflict with another
    transaction, or throttling, goes again after a pause (see `transact`); a transaction over
    DynamoDB's size limit (4 MB) goes as two halves."""
    lost: set[str] = set()
    while groups:
        puts = [put for group in groups for put in group]
        try:
            failed = transact(db, puts)
        except db.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ValidationException" or len(groups) < 2:
                raise
            half = len(groups) // 2
            return lost | transact_puts(db, groups[:half], key) | transact_puts(db, groups[half:], key)
        if not failed:
            return lost
        owner = [number for number, group in enumerate(groups) for _ in group]
        losers = {owner[i] for i in failed}
        lost |= {groups[number][0]["Put"]["Item"][key]["S"] for number in losers}
        groups = [group for number, group in enumerate(groups) if number not in losers]
    return lost


def shard_of(key: str, shards: int) -> str:
    """The shard of a sparse due index a person lives in (stable, spread evenly)."""
    return str(int(hashlib.blake2b(key.encode(), digest_size=2).hexdigest(), 16) % shards)


def encode(sort_key: str) -> str:
    """A page cursor for a query within one partition: the last sort key, opaque."""
    return base64.urlsafe_b64encode(json.dumps(sort_key).encode()).decode()


def decode(cursor: str) -> str:
    value = _load(cursor)
    if not _fits(value):
        raise InvalidCursorError("The cursor is not one this API gave out.")
    return value


def encode_key(key: Item) -> str:
    """A page cursor for a scan: the whole last key, opaque."""
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode_key(cursor: str | None, names: set[str]) -> Item | None:
    if not cursor:
        return None
    key = _load(cursor)
    if not isinstance(key, dict) or set(key) != names or not all(map(_key_value, key.values())):
        raise InvalidCursorError("The cursor is not one this API gave out.")
    return key


def _key_value(value: Any) -> bool:
    """A key attribute as DynamoDB takes one: a text of 1 to 1,024 bytes."""
    return isinstance(value, dict) and len(value) == 1 and _fits(value.get("S"))


def _fits(text: Any) -> TypeGuard[str]:
    """Text DynamoDB takes as a key: 1 to 1,024 bytes of UTF-8 (JSON can carry a lone surrogate)."""
    try:
        return isinstance(text, str) and 0 < len(text.encode()) <= KEY_BYTES
    except UnicodeEncodeError:
        return False


def _load(cursor: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        raise InvalidCursorError("The cursor is not one this API gave out.") from None
