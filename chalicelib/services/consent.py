"""Use case: write a person's consent ledger, and read it back (admin API, export)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.consent import ConsentEntry, expiry
from chalicelib.services.ports import Clock, ConsentLedger


class ConsentRecords:
    def __init__(self, ledger: ConsentLedger, clock: Clock) -> None:
        self.ledger = self._ledger = ledger  # the importer appends an import's entries in batches
        self._clock = clock

    def record(self, contact_id: str, entry: ConsentEntry, was_mailable: bool | None = None) -> None:
        """Append `entry`.  When it moves the person into or out of being mailable
        (`was_mailable` says where they stood), the whole ledger's expiry moves with it:
        kept while they can be mailed, expiring RETENTION_DAYS after they no longer can."""
        now = self._clock()
        at = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
        entry = replace(entry, at=at)  # the ledger's own time, fine enough to keep entries in order
        expires_at = expiry(entry, now)
        if was_mailable is not None and was_mailable != entry.mailable:
            self._ledger.keep_until(contact_id, expires_at)
        self._ledger.append(contact_id, entry, expires_at)

    def keep(self, contact_id: str) -> None:
        """Keep every entry of this person while they can be mailed (no expiry): called before a
        change that makes them mailable, so a crash right after it never leaves their evidence
        to expire."""
        self._ledger.keep_until(contact_id, None)

    def history(self, contact_id: str) -> list[dict[str, Any]]:
        return [entry.to_json() for entry in self._ledger.entries(contact_id)]

    def erase(self, contact_id: str) -> int:
        return self._ledger.erase(contact_id)
