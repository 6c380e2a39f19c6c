"""The time, for everything that decides by it.

On AWS this is the system clock.  The local stack (and its tests) can move it
forward, so a three-day wait in a scenario passes in a second: `travel`.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

_offset = 0.0


def now() -> float:
    return time.time() + _offset


def wall() -> float:
    """The system time, never moved: a pace shared by every machine (the fleet's rate limits)."""
    return time.time()


def travel(seconds: float) -> None:
    """Move the clock forward (local stack and tests only; nothing on AWS calls this)."""
    global _offset
    _offset += seconds


def offset() -> float:
    """How far the clock has been moved (the local stack keeps it across restarts)."""
    return _offset


def reset() -> None:
    global _offset
    _offset = 0.0


def today() -> date:
    """The UTC date now (the daily date pass's day)."""
    return datetime.fromtimestamp(now(), UTC).date()


def stopwatch() -> float:
    """Seconds on a clock that only goes forward (cache ages, a run's deadline); never moved."""
    return time.monotonic()


def ticks_ns() -> int:
    """Nanoseconds on the same forward-only clock (a tie-breaker between two hits in one millisecond)."""
    return time.monotonic_ns()
