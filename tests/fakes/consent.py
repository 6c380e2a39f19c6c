"""In-memory twins of the consent ports: the ledger (append-only) and the waiting sign-ups."""

from __future__ import annotations

import copy
from typing import Any

from chalicelib.domain.consent import ConsentEntry


class MemoryConsentLedger:
    def __init__(self) -> None:
        self.kept: dict[str, list[tuple[ConsentEntry, int | None]]] = {}  # contact id -> (entry, expiry)

    def append(self, contact_id: str, entry: ConsentEntry, expires_at: int | None) -> None:
        self.kept.setdefault(contact_id, []).append((entry, expires_at))

    def entries(self, contact_id: str) -> list[ConsentEntry]:
        return [entry for entry, _ in self.kept.get(contact_id, [])]

    def expiries(self, contact_id: str) -> list[int | None]:
        return [expires for _, expires in self.kept.get(contact_id, [])]

    def keep_until(self, contact_id: str, expires_at: int | None) -> None:
        self.kept[contact_id] = [(entry, expires_at) for entry, _ in self.kept.get(contact_id, [])]

    def erase(self, contact_id: str) -> int:
        return len(self.kept.pop(contact_id, []))


class MemorySignups:
    def __init__(self) -> None:
        self.waiting: dict[str, dict[str, Any]] = {}
        self.counts: dict[str, int] = {}

    def keep(self, nonce: str, submission: dict[str, Any], expires_at: int) -> None:
        assert nonce not in self.waiting
        self.waiting[nonce] = copy.deepcopy(submission)

    def look(self, nonce: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.waiting.get(nonce))

    def take(self, nonce: str) -> dict[str, Any] | None:
        return self.waiting.pop(nonce, None)

    def count(self, what: str, window_seconds: int, now: float) -> int:
        key = f"{what}#{int(now) // window_seconds}"
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key]
