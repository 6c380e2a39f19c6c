"""Counting writes coalesced within one container: exact while quiet, bounded when busy.

A page's last-seen line and a site's rejected-hit counter are bumped by every hit; at internet
scale that is thousands of writes a second on one DynamoDB key (the limit is 1,000), and a bill
to match.  Each container keeps a small bucket per key: a write takes a token, a token comes
back every `window` seconds, up to `burst`.  While there is a token the hit is written at once
(so a quiet site -- or a test -- sees every hit, exactly); when there is none, the hit is held
and the next write adds it (`ADD hits :n`).  A busy key costs a container one write a window.

What is given up: the hits held by a container that then sees that key no more (Lambda reclaims
idle containers) are not counted -- at most a window's worth a container, on a key that was busy.
"""

from __future__ import annotations

from collections.abc import Hashable


class Coalescer:
    def __init__(self, burst: int, window: float, most_keys: int = 20_000) -> None:
        self._burst = burst
        self._window = window
        self._most = most_keys
        self._keys: dict[Hashable, list[float]] = {}  # key -> [tokens, refilled at, held hits]

    def add(self, key: Hashable, now: float) -> int:
        """One more hit on `key`: how many hits to write now (this one and those held), or 0 to hold it."""
        state = self._keys.get(key)
        if state is None:
            if len(self._keys) >= self._most:
                self._forget_quiet()
            state = self._keys[key] = [float(self._burst), now, 0.0]
        tokens, refilled, held = state
        gained = (now - refilled) // self._window
        if gained > 0:
            tokens, refilled = min(float(self._burst), tokens + gained), refilled + gained * self._window
        if tokens >= self._burst:
            refilled = now  # a full bucket fills no further: its clock starts at this use
        if tokens >= 1:
            state[:] = [tokens - 1, refilled, 0.0]
            return int(held) + 1
        state[:] = [tokens, refilled, held + 1]
        return 0

    def held(self) -> int:
        """Hits held for a later write, over every key."""
        return int(sum(state[2] for state in self._keys.values()))

    def _forget_quiet(self) -> None:
        """Room for a new key: keys holding nothing go first; if all hold hits, all go (rare: a
        container touching this many keys within a window)."""
        quiet = [key for key, state in self._keys.items() if not state[2]]
        for key in quiet:
            del self._keys[key]
        if len(self._keys) >= self._most:
            self._keys.clear()
