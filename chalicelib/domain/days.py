"""The day an ISO date or time string names, or None: how stored dates are read everywhere."""

from __future__ import annotations

from datetime import date
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
