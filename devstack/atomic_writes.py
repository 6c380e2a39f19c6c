"""DynamoDB applies each request atomically: a condition is checked and the write made in one
step, two `ADD`s to one counter both count, a read never sees half a write.  moto's backend reads
and changes its dictionaries without a lock, so under threads (the emulator serves requests in
threads; the moto tests run the tick's shard workers side by side) two conditional writes can
both pass, an `ADD` can be lost, a query can meet a dictionary changing size.  `serialise()`
puts one lock around each of the backend's item operations, which is how DynamoDB behaves.

It also makes a transaction cost what it touches.  moto keeps a deep copy of every table a
transaction names -- once per item in the transaction -- to roll back to if it fails: with
10,000 contacts and their timelines, a segment move of 100 items copied the events table 100
times, and the emulator grew past 9 GB.  Here a transaction keeps a copy of the items it names
(and where each table's stream ended) and, if it fails, puts those back and drops the stream
records it made: the same outcome, as DynamoDB's, at the cost of the transaction's own items."""

from __future__ import annotations

import copy
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

    if not getattr(DynamoDBBackend.transact_write_items, "serialised", False):
        rolled_back = _rolled_back_by_item(DynamoDBBackend.transact_write_items)
        DynamoDBBackend.transact_write_items = rolled_back  # type: ignore[method-assign]
    for name in OPERATIONS:
        operation = getattr(DynamoDBBackend, name, None)
        if operation is None or getattr(operation, "serialised", False):
            continue
        setattr(DynamoDBBackend, name, _locked(operation))


class _TablesNotCopied:
    """What moto's models module sees as `copy` during a transaction: a table is not copied
    (its rollback is done item by item instead); anything else is, as before."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _rolled_back_by_item(transact: Any) -> Any:
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType

    @functools.wraps(transact)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        kept: list[tuple[Any, Any, Any, Any]] = []  # (table, hash key, range key, the item before)
        streams: dict[int, tuple[Any, int]] = {}
        for entry in transact_items[:100] if isinstance(transact_items, list) else []:
            op = next(iter(entry.values()), None) if isinstance(entry, dict) and len(entry) == 1 else None
            table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            if table is None or not isinstance(op, dict):
                continue
            key: Any = op.get("Key") if "Key" in op else op.get("Item")
            try:
                hash_key = DynamoType(key[table.hash_key_attr])
                range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            except (KeyError, TypeError, AttributeError):
                continue  # moto refuses it with its own error
            before = table.get_item(hash_key, range_key) if range_key or not table.range_key_attr else None
            kept.append((table, hash_key, range_key, copy.deepcopy(before)))
            if table.stream_shard is not None:
                streams[id(table)] = (table.stream_shard, len(table.stream_shard.items))
        models.copy = _TablesNotCopied  # type: ignore[attr-defined,assignment]
        try:
            transact(self, transact_items)
        except Exception:
            for table, hash_key, range_key, before in reversed(kept):
                home = table.items[hash_key] if range_key else table.items
                where = range_key if range_key else hash_key
                if before is None:
                    home.pop(where, None)
                else:
                    home[where] = before
            for shard, length in streams.values():
                del shard.items[length:]
            raise
        finally:
            models.copy = copy  # type: ignore[attr-defined]

    transact_write_items.serialised = True  # type: ignore[attr-defined]
    return _locked(transact_write_items)


def _locked(operation: Any) -> Any:
    @functools.wraps(operation)
    def one_at_a_time(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return operation(*args, **kwargs)

    one_at_a_time.serialised = True  # type: ignore[attr-defined]
    return one_at_a_time
