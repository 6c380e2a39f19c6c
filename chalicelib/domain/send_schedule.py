"""The fleet's schedule of sends on a rate-limited channel (LINE, SMS), as times, not tokens (pure).

A channel's limit is counted by the channel in one-second windows that fall where they fall.
A token bucket shared by the fleet cannot promise to stay under it: tokens leased to a worker and
spent late add to whatever the bucket gives in the window they are spent in, and a bucket that
fills while no worker takes spills sends it never gets back.  Here the shared item holds one
time instead: when the last send granted to anyone is due (`due`, generic cell-rate style).
- A worker takes a lease of `sends` sends: the sends due one `step` (1 / rate) apart from
  `max(due, now)`; the next lease starts where it ends.  No two sends of the fleet share a
  moment, and a lease is never granted more than `ahead` seconds before it starts, so taking
  the next one is a write made while the last is still being spent: nothing spills.
- A worker sends each of its sends between `early` before its moment and `late` after it;
  a moment missed by more than `late` is let go.  So any one-second window, however it falls,
  holds at most `rate * (1 + early + late) + 1` sends of the whole fleet.
"""

from __future__ import annotations

import math
from typing import NamedTuple

EARLY_S = 0.005  # a send may go this long before its moment (the threads need not sleep for less)
LATE_S = 0.04  # and this long after it; later, the moment is let go


class Lease(NamedTuple):
    """`sends` sends due `step` seconds apart from `start` (wall clock); with `sends` 0, none:
    the next lease may be asked for at `start`."""

    sends: int
    start: float
    step: float


def next_lease(due: float, now: float, want: int, rate: float, ahead: float) -> Lease:
    """The lease a worker gets at `now` when the fleet's sends are granted until `due`: up to
    `want` sends at `rate` a second, from `max(due, now)`; none when that is more than `ahead`
    seconds away (it is asked for again then)."""
    start = max(due, now)
    step = 1.0 / rate
    if start - now > ahead:
        return Lease(0, start - ahead, step)
    return Lease(max(1, want), start, step)


def busiest_second(moments: list[float]) -> int:
    """The most of these moments in any one-second window, wherever it falls."""
    ordered, most, first = sorted(moments), 0, 0
    for last, moment in enumerate(ordered):
        while moment - ordered[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


class Slots:
    """The sends a worker holds on one channel: its leases' moments, spent in order."""

    def __init__(self, early: float = EARLY_S, late: float = LATE_S) -> None:
        self._early, self._late = early, late
        self._leases: list[Lease] = []
        self._used = 0  # of the first lease

    def add(self, lease: Lease) -> None:
        if lease.sends:
            self._leases.append(lease)

    def held_until(self) -> float:
        """When the last send in hand is due (0.0: none in hand)."""
        if not self._leases:
            return 0.0
        last = self._leases[-1]
        return last.start + (last.sends - 1) * last.step

    def take(self, now: float) -> float | None:
        """Spend the next send: 0.0 when it goes now; else the seconds until it may (nothing is
        spent); None when nothing is in hand.  Moments missed by more than `late` are let go."""
        while self._leases:
            lease = self._leases[0]
            missed = math.floor((now - self._late - lease.start) / lease.step) + 1
            self._used = max(self._used, missed)
            if self._used >= lease.sends:
                self._leases.pop(0)
                self._used = 0
                continue
            due = lease.start + self._used * lease.step
            if due - self._early > now:
                return due - self._early - now
            self._used += 1
            return 0.0
        return None
