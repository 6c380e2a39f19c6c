"""The audit log: every change made through the console or the admin API -- who, what, when, and
for a definition the version before and after -- appended by day and read newest first.

A page walks back day by day from where the last one stopped, reading one day's entries per
query; it looks at most `DAYS_PER_PAGE` days, so quiet months cost a few pages, never a scan.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import date, timedelta
from typing import Any

from chalicelib.domain.console import AuditEntry, iso
from chalicelib.domain.errors import BadInputError
from chalicelib.services.console_ports import AuditTrail
from chalicelib.services.ports import Clock

DAYS_PER_PAGE = 31
MAX_LIMIT = 200
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


class AuditLog:
    def __init__(self, trail: AuditTrail, clock: Clock) -> None:
        self._trail = trail
        self._clock = clock

    def record(
        self, who: str, method: str, route: str, target: str = "", detail: dict[str, str] | None = None
    ) -> AuditEntry:
        entry = AuditEntry(iso(self._clock()), who, method, route, target, dict(detail or {}))
        self._trail.append(entry)
        return entry

    def page(self, limit: int, cursor: str | None) -> dict[str, Any]:
        """`{"entries": [...newest first], "cursor": <for the next page> or None}`."""
        if not 1 <= limit <= MAX_LIMIT:
            raise BadInputError(f"limit must be between 1 and {MAX_LIMIT}.")
        first = self._trail.first_day()
        day, after = _decode(cursor) if cursor else (iso(self._clock())[:10], None)
        entries: list[AuditEntry] = []
        for _ in range(DAYS_PER_PAGE):
            if first is None or day < first:
                return _page(entries, None)
            found, after = self._trail.day(day, limit - len(entries), after)
            entries += found
            if after is None:
                day = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
            if len(entries) >= limit:
                break
        more = first is not None and day >= first
        return _page(entries, _encode(day, after) if more else None)


def _page(entries: list[AuditEntry], cursor: str | None) -> dict[str, Any]:
    return {"entries": [e.to_json() for e in entries], "cursor": cursor}


def _encode(day: str, after: str | None) -> str:
    return base64.urlsafe_b64encode(json.dumps([day, after]).encode()).decode()


def _decode(cursor: str) -> tuple[str, str | None]:
    try:
        day, after = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        raise BadInputError("The cursor is not one this API gave out.") from None
    if (
        not isinstance(day, str)
        or not _DAY.match(day)
        or not (after is None or (isinstance(after, str) and len(after) <= 100))
    ):
        raise BadInputError("The cursor is not one this API gave out.")
    try:
        date.fromisoformat(day)
    except ValueError:
        raise BadInputError("The cursor is not one this API gave out.") from None
    return day, after
