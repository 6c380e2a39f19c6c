"""LINE, SMS, the fleet's token buckets and texts' short codes in memory (LineMessaging,
SmsGateway, ChannelLedger, ShortLinkStore): LINE's retry key kept as LINE keeps it (a key
accepted once answers as accepted, sends nothing), a short code held by one link only."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from chalicelib.domain.channels import ChannelOptedOutError, ChannelThrottledError
from chalicelib.domain.errors import OutcomeUnknownError
from chalicelib.domain.send_schedule import Lease
from tests.fakes.journeys import MemoryJourneys


class RecordingLine:
    def __init__(self) -> None:
        self.delivered: list[tuple[str, dict[str, Any]]] = []
        self.accepted: dict[str, str] = {}
        self.throttle_next = 0  # answer 429 this many times
        self._lock = threading.Lock()

    def push(self, user_id: str, messages: list[dict[str, Any]], retry_key: str) -> str:
        with self._lock:
            if self.throttle_next > 0:
                self.throttle_next -= 1
                raise ChannelThrottledError("LINE answered 429")
            if retry_key not in self.accepted:
                self.accepted[retry_key] = f"req{len(self.accepted)}"
                self.delivered += [(user_id, m) for m in messages]
            return self.accepted[retry_key]


class RecordingSms:
    """`opted_out`: numbers it says are opted out when asked; `refusing`: numbers whose send it
    refuses as opted out (End User Messaging's ConflictException) though it never said so."""

    def __init__(
        self, opted_out: frozenset[str] = frozenset(), refusing: frozenset[str] = frozenset()
    ) -> None:
        self.sent: list[tuple[str, str]] = []
        self.opted = opted_out
        self.refusing = refusing
        self.lose_answers = 0  # the next this many texts go, but their answers never come back

    def opted_out(self, number: str) -> bool:
        return number in self.opted

    def send(self, number: str, text: str) -> str:
        if number in self.refusing:
            raise ChannelOptedOutError("the number opted out of texts")
        self.sent.append((number, text))
        if self.lose_answers > 0:
            self.lose_answers -= 1
            raise OutcomeUnknownError("End User Messaging SMS's answer was lost: Read timed out.")
        return f"sns{len(self.sent)}"


class MemoryBuckets:
    """As many sends as `tokens` says (None: always enough), all due at once by `clock`; reclaim
    over the fake ledger."""

    def __init__(
        self, journeys: MemoryJourneys, clock: Callable[[], float], tokens: int | None = None
    ) -> None:
        self.journeys = journeys
        self.clock = clock
        self.tokens = tokens

    def take(self, channel: str, want: int) -> Lease:
        granted = want if self.tokens is None else min(want, self.tokens)
        if self.tokens is not None:
            self.tokens -= granted
        return Lease(granted, self.clock() if granted else self.clock() + 0.5, 1e-9)

    def reclaim(self, contact_id: str, key: str, claimed_at: str, at: str) -> bool:
        entry = self.journeys.action(contact_id, key) or {}
        if entry.get("status") != "claimed" or entry.get("at") != claimed_at:
            return False
        self.journeys.note(contact_id, key, {"at": at})
        return True


class MemoryShortLinks:
    """Short codes as the journeys table keeps them: code -> (token, source, expires_at)."""

    def __init__(self) -> None:
        self.codes: dict[str, tuple[str, str, int]] = {}
        self.looked_up: list[str] = []  # every code asked for

    def keep(self, code: str, token: str, source: str, expires_at: int) -> bool:
        held = self.codes.get(code)
        if held is not None and held[1] != source:
            return False
        self.codes[code] = (token, source, expires_at)
        return True

    def find(self, code: str, now: float) -> str | None:
        self.looked_up.append(code)
        held = self.codes.get(code)
        return held[0] if held is not None and held[2] > now else None
