"""The frequency cap: at most N marketing mails to one person in any H hours.

One rule, used where a step is about to be walked (hold the mail until a place
frees) and where the place is taken (atomically with every other mail to the
person, so two ticks cannot both take the last one).
"""

from __future__ import annotations

from collections.abc import Iterable

Cap = tuple[int, int]  # (mails, hours)
KEEP_SENT = 100  # mail times kept for the cap


def _recent(cap: Cap, times: Iterable[float], at: float) -> list[float]:
    since = at - cap[1] * 3600
    return sorted(t for t in times if t > since)


def is_full(cap: Cap | None, times: Iterable[float], at: float) -> bool:
    return cap is not None and len(_recent(cap, times, at)) >= cap[0]


def frees_at(cap: Cap | None, times: Iterable[float], at: float) -> float | None:
    """When a place under the cap next frees (None: there is one now)."""
    if cap is None:
        return None
    recent = _recent(cap, times, at)
    if len(recent) < cap[0]:
        return None
    return recent[-cap[0]] + cap[1] * 3600 + 1


def with_mail(cap: Cap | None, times: list[float], at: float) -> list[float] | None:
    """The times with this mail's added, or None when the cap is full."""
    if is_full(cap, times, at):
        return None
    return sorted([*times, at])[-KEEP_SENT:]


def without_mail(times: list[float], at: float) -> list[float]:
    """The times with this mail's place given back (it did not go): one place, as another mail
    reserved at the same moment (one walk shares its `now`) may well have gone."""
    kept = list(times)
    for index, taken in enumerate(kept):
        if f"{taken:.3f}" == f"{at:.3f}":
            del kept[index]
            break
    return kept
