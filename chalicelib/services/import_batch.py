"""Rows in, contacts out, a hundred people at a time.

One BatchGetItem reads the people of a batch; the merge rules decide what
changed; only changed contacts are written, 25 to a BatchWriteItem.  The
counts always add up: rows = created + updated + unchanged + rejected + duplicates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from chalicelib.domain.consent import SMS, ConsentEntry, expiry, imported
from chalicelib.domain.contact import (
    SMS_PERMISSION,
    Contact,
    Newcomer,
    Outcome,
    Source,
    Status,
    fold_duplicate,
    merge,
    newcomer,
)
from chalicelib.domain.report import Counts, errors_csv_rows
from chalicelib.domain.rows import ContactRow, Rejection
from chalicelib.domain.seen import SeenSet
from chalicelib.services.ports import ConsentLedger, ContactStore

BATCH_SIZE = 100
_COUNTED = {outcome: outcome.value for outcome in Outcome}  # an Enum's .value is a slow property


class Batcher:
    def __init__(
        self,
        store: ContactStore,
        source: Source,
        seen: SeenSet,
        errors: IO[str],
        new_id: Callable[[], str],
        counts: Counts,
        rejected_by_reason: dict[str, int],
        consent: ConsentLedger,
        now: float,
    ) -> None:
        self._consent = consent
        self._now = now
        self._store = store
        self._source = source
        self._seen = seen
        self._errors = errors
        self._new_id = new_id
        self.counts = counts
        self.rejected_by_reason = rejected_by_reason
        self._rows: dict[str, ContactRow] = {}
        self._repeats: set[str] = set()  # seen in an earlier batch: merge, count as duplicate
        self._pending = 0  # rows since the last flush, rejected ones included

    @property
    def full(self) -> bool:
        """Time to flush: a checkpoint can only fall on a flushed batch."""
        return len(self._rows) >= BATCH_SIZE or self._pending >= BATCH_SIZE * 10

    def add(self, row: ContactRow) -> None:
        self.counts.rows += 1
        self._pending += 1
        if self._seen.add(row.email):
            self.counts.duplicates += 1
            earlier = self._rows.get(row.email)
            if earlier is not None:
                self._rows[row.email] = fold_duplicate(earlier, row)
                return
            self._repeats.add(row.email)
        self._rows[row.email] = row

    def reject(self, rejection: Rejection) -> None:
        self.counts.rows += 1
        self._pending += 1
        self._record_rejection(rejection)

    def _record_rejection(self, rejection: Rejection) -> None:
        self.counts.rejected += 1
        reasons = self.rejected_by_reason
        reasons[rejection.reason] = reasons.get(rejection.reason, 0) + 1
        self._errors.write(errors_csv_rows([rejection]))

    def flush(self) -> None:
        self._pending = 0
        if not self._rows:
            return
        rows, repeats = self._rows, self._repeats
        self._rows, self._repeats = {}, set()
        existing = self._store.get_many(list(rows))
        newcomers = [email for email in rows if email not in existing]
        suppressed = self._store.suppressed_among(newcomers) if newcomers else set()
        changed: list[Contact] = []
        created: list[Newcomer] = []
        entries: list[tuple[str, ConsentEntry, int | None]] = []
        counts = self.counts
        for email, row in rows.items():
            if email in suppressed:
                self._unsee_as_suppressed(row, email in repeats)
                continue
            found = existing.get(email)
            if found is None:
                new = newcomer(row, self._new_id(), self._source)
                created.append(new)
                if new.status != Status.PENDING:
                    self._consent_change(None, new.contact_id, new.status, row.line, entries)
                if SMS_PERMISSION in row.fields:
                    self._sms_change(new.contact_id, str(row.fields[SMS_PERMISSION]), row.line, entries)
                outcome = Outcome.CREATED
            else:
                merged = merge(found, row, self._source)
                outcome = merged.outcome
                if outcome is not Outcome.UNCHANGED:
                    contact = merged.contact
                    changed.append(contact)
                    self._consent_change(found, contact["contact_id"], contact["status"], row.line, entries)
                    if contact.get(SMS_PERMISSION) != found.get(SMS_PERMISSION):
                        self._sms_change(contact["contact_id"], contact[SMS_PERMISSION], row.line, entries)
                counts.consent_refused += merged.consent_refused
            if email not in repeats:
                name = _COUNTED[outcome]
                setattr(counts, name, getattr(counts, name) + 1)
        self._store.put_many(changed, created)
        if entries:  # after the contacts: an entry never stands for a change that was not made
            self._consent.append_many(entries)

    def _consent_change(
        self,
        was: Contact | None,
        contact_id: str,
        status: str,
        line: int,
        entries: list[tuple[str, ConsentEntry, int | None]],
    ) -> None:
        """The row's yes or no, when it changed the person's permission, for the ledger."""
        before = was.get("status") if was else Status.PENDING
        if status == before or status == Status.PENDING:
            return
        entry = imported(self._source.at, self._source.name.removeprefix("import:"), line, status)
        expires_at = expiry(entry, self._now)
        if was is not None and (before == Status.SUBSCRIBED) != entry.mailable:
            self._consent.keep_until(contact_id, expires_at)  # the ledger's expiry moves with it
        entries.append((contact_id, entry, expires_at))

    def _sms_change(
        self,
        contact_id: str,
        permission: str,
        line: int,
        entries: list[tuple[str, ConsentEntry, int | None]],
    ) -> None:
        """The row's yes or no to texts, for the ledger (channel sms: kept with the ledger)."""
        file = self._source.name.removeprefix("import:")
        entries.append((contact_id, imported(self._source.at, file, line, permission, SMS), None))

    def _unsee_as_suppressed(self, row: ContactRow, repeat: bool) -> None:
        if repeat:  # counted as a duplicate already; its first row was rejected too
            self.counts.duplicates -= 1
        self._record_rejection(
            Rejection(
                row.line,
                "",
                "suppressed",
                "This address was erased or suppressed; it is not imported again.",
                [row.email],
            )
        )
