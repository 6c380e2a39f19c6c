"""Per-key hit counts in fixed windows, in the memory of one container.

A first line of defence that costs no request; the AWS WAF rate-based rule in
front of the API (README) is the fleet-wide one.
"""

from __future__ import annotations

from collections.abc import Callable

MAX_KEYS = 50_000


class WindowCounter:
    def __init__(self, window_seconds: float, clock: Callable[[], float]) -> None:
        self._window = window_seconds
        self._clock = clock
        self._current = -1
        self._counts: dict[str, int] = {}

    def add(self, key: str, now: float | None = None) -> int:
        """Count one hit for `key` (at `now`, the clock's time when not given); returns the hits
        in the current window, this one included."""
        window = int((self._clock() if now is None else now) // self._window)
        if window != self._current or len(self._counts) > MAX_KEYS:
            self._current, self._counts = window, {}
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        return count
