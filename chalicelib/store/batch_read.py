"""BatchGetItem to the end: keys DynamoDB leaves unprocessed are asked for again, with backoff."""

from __future__ import annotations

import time
from typing import Any

ATTEMPTS = 8


def batch_get(db: Any, wanted: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Items by table for one request's worth of keys (at most 100); raises if DynamoDB
    keeps leaving keys unprocessed (throttling that outlasts the backoff)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for attempt in range(ATTEMPTS):
        answer = db.batch_get_item(RequestItems=wanted)
        for table, items in answer.get("Responses", {}).items():
            found.setdefault(table, []).extend(items)
        wanted = answer.get("UnprocessedKeys") or {}
        if not wanted:
            return found
        time.sleep(min(0.05 * 2**attempt, 1.0))
    raise RuntimeError(f"DynamoDB kept refusing to read from {', '.join(wanted)}")
