"""Parts built once per Lambda container, on first use, and handed out again -- or provided
instead (a bench's stubbed store, a test's throttling mail service).  The composition root
(bootstrap.py) marks each of its builders with `once`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

T = TypeVar("T")
_built: dict[str, list[Any]] = {}  # builder name -> [the part], once built
_given: dict[str, Any] = {}
_building = threading.RLock()  # builders call builders; threads (the tick's, chalice local's) share parts


def once(builder: Callable[[], T]) -> Callable[[], T]:
    """Build on first use, then hand out the same object (per container), even when two
    threads ask at once: every part that holds another holds the one everybody holds.
    After the first build a call is two dict lookups (the beacon path asks on every hit)."""
    name = builder.__name__
    held: list[T] = _built.setdefault(name, [])

    @wraps(builder)
    def part() -> T:
        given: T | None = _given.get(name)
        if given is not None:
            return given
        if not held:
            with _building:
                if not held:
                    held.append(builder())
        return held[0]

    return part


def _forget_built() -> None:
    for held in _built.values():
        held.clear()


def provide(**parts: Any) -> None:
    """Hand out these instead of building them, by builder name (a bench's stubbed store,
    a test's mail service that throttles); what was built is built again around them.
    `reset()` forgets them."""
    unknown = set(parts) - set(_built)
    if unknown:
        raise ValueError(f"no such part: {sorted(unknown)}")
    _given.update(parts)
    _forget_built()


def forget() -> None:
    """Forget everything built or provided."""
    _forget_built()
    _given.clear()
