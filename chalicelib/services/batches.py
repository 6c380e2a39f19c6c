"""Per-record isolation for every batch handler (SQS queues and both DynamoDB streams).

A record that no retry can fix (malformed, or failing the same way every time)
is parked with its reason beside the batch, and its healthy neighbours go
through.  A passing fault (throttling, a write race, the network) fails the
batch after the other records are done, so Lambda delivers it again; every
handler is idempotent, so what was done is not done twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, TypeVar

from chalicelib.logs import logger
from chalicelib.services.ports import Parking

T = TypeVar("T")
Job = tuple[Callable[[], Any], Callable[[], dict[str, Any]]]
"""One piece of a batch's work, and what to park with it if it can never succeed."""


class Isolation:
    def __init__(self, parking: Parking | None, transient: Callable[[BaseException], bool]) -> None:
        self._parking = parking
        self._transient = transient

    def each(
        self,
        handler: str,
        records: Iterable[T],
        work: Callable[[T], Any],
        payload: Callable[[T], dict[str, Any]],
    ) -> None:
        """Do `work` for every record; park the poison ones; re-raise a passing fault at the end."""
        self.all(handler, [(partial(work, record), partial(payload, record)) for record in records])

    def set_aside(self, handler: str, unreadable: Iterable[tuple[dict[str, Any], str]]) -> None:
        """Park records that could not even be read (payload, reason), before the batch runs."""
        for payload, reason in unreadable:
            if self._parking is None:
                raise ValueError(reason)
            logger.warning("parked an unreadable record", extra={"handler": handler, "reason": reason})
            self._parking.park(handler, payload, reason)

    def all(self, handler: str, jobs: list[Job]) -> None:
        """Every (work, payload) job of a batch, whatever kind: the poison ones parked, a passing
        fault re-raised only once every other job has had its turn."""
        retry: BaseException | None = None
        for work, payload in jobs:
            try:
                work()
            except Exception as error:
                if self._transient(error):
                    retry = retry or error
                    continue
                if self._parking is None:
                    raise
                logger.exception("parked a record", extra={"handler": handler})
                self._parking.park(handler, payload(), repr(error))
        if retry is not None:
            raise retry
