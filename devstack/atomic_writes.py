"""DynamoDB applies each request atomically: a condition is checked and the write made in one
step, two `ADD`s to one counter both count, a read never sees half a write.  moto's backend reads
and changes its dictionaries without a lock, so under threads (the emulator serves requests in
threads; the moto tests run the tick's shard workers side by side) two conditional writes can
both pass, an `ADD` can be lost, a query can meet a dictionary changing size.  `serialise()`
puts one lock around each of the backend's item operations, which is how DynamoDB behaves."""

from __future__ import annotations

import functools
import threading
from typing import Any

_LOCK = threading.RLock()
OPERATIONS = (
    "put_item",
    "get_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "batch_get_item",
    "batch_write_item",
    "transact_write_items",
    "transact_get_items",
)


def serialise() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    for name in OPERATIONS:
        operation = getattr(DynamoDBBackend, name, None)
        if operation is None or getattr(operation, "serialised", False):
            continue
        setattr(DynamoDBBackend, name, _locked(operation))


def _locked(operation: Any) -> Any:
    @functools.wraps(operation)
    def one_at_a_time(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return operation(*args, **kwargs)

    one_at_a_time.serialised = True  # type: ignore[attr-defined]
    return one_at_a_time
