"""Dates and times from outside, read one way everywhere.

`iso_day`: the day an ISO date or time names.  `moment`: the instant, always aware and in
UTC -- a bare date is its midnight UTC, a time without an offset is UTC -- so every time
Sodate stores compares with every other (a naive time beside an aware one is a crash).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any


def iso_day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def moment(value: Any) -> datetime | None:
    """The instant an ISO date or date-time names, aware in UTC; None if it names none."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        return None
    if found.tzinfo is None:
        return found.replace(tzinfo=UTC)
    try:
        return found.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+09:00 is before the first instant there is
        return None
