"""Rows in, contacts out, a hundred people at a time.

One BatchGetItem reads the people of a batch; the merge rules decide what
changed; only changed contacts are written, each only if nobody else wrote
them since the read (a new person: only if nobody created them meanwhile).
A row whose write lost that race is read and merged again, into what the
other writer left -- an unsubscribe, a sign-up, an erasure is never undone --
for a few rounds at most, then reported as rejected, never dropped.  What is
counted is what was written, and a person's consent entries are written with
them.  The counts always add up: rows = created + updated + unchanged +
rejected + duplicates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from chalicelib.domain.consent import SMS, LedgerEntry, expiry, imported
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
    row_again,
)
from chalicelib.domain.report import Counts, errors_csv_rows
from chalicelib.domain.rows import ContactRow, Rejection
from chalicelib.domain.seen import SeenSet
from chalicelib.services.ports import ConsentLedger, ContactStore

BATCH_SIZE = 100
ROUNDS = 5  # reads and writes of one row, at most, while others keep changing the person
_COUNTED = {outcome: outcome.value for outcome in Outcome}  # an Enum's .value is a slow property
Entries = list[LedgerEntry]
Expiries = list[tuple[str, int | None]]  # (contact id, when the whole ledger expires)
SUPPRESSED = "This address was erased or suppressed; it is not imported again."
CHANGED_MEANWHILE = (
    f"Something else changed this person each of the {ROUNDS} times the row was about to be "
    "written, so it was not; import the file again to apply it."
)


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
        for _ in range(ROUNDS):
            rows = self._round(rows, repeats)
            if not rows:
                return
        for row in rows.values():
            self._unsee(row, row.email in repeats, "changed_meanwhile", CHANGED_MEANWHILE)

    def _round(self, rows: dict[str, ContactRow], repeats: set[str]) -> dict[str, ContactRow]:
        """Read, merge, write; count and record what was written.  The rows whose write lost
        to another writer, as they came, for the next round."""
        existing = self._store.get_many(list(rows))
        newcomers = [email for email in rows if email not in existing]
        suppressed = self._store.suppressed_among(newcomers) if newcomers else set()
        changed: list[Contact] = []
        created: list[Newcomer] = []
        entries: Entries = []
        expiries: Expiries = []
        refused: set[str] = set()  # a yes ignored: the person had opted out
        counts = self.counts
        for email, row in rows.items():
            if email in suppressed:
                self._unsee(row, email in repeats, "suppressed", SUPPRESSED)
                continue
            found = existing.get(email)
            if found is None:
                new = newcomer(row, self._new_id(), self._source)
                created.append(new)
                if new.status != Status.PENDING:
                    self._consent_change(None, new.contact_id, new.status, row.line, entries, expiries)
                if SMS_PERMISSION in row.fields:
                    self._sms_change(new.contact_id, str(row.fields[SMS_PERMISSION]), row.line, entries)
                outcome = Outcome.CREATED
            else:
                merged = merge(found, row, self._source)
                outcome = merged.outcome
                if outcome is not Outcome.UNCHANGED:
                    contact = merged.contact
                    changed.append(contact)
                    cid = contact["contact_id"]
                    self._consent_change(found, cid, contact["status"], row.line, entries, expiries)
                    if contact.get(SMS_PERMISSION) != found.get(SMS_PERMISSION):
                        self._sms_change(cid, contact[SMS_PERMISSION], row.line, entries)
                if merged.consent_refused:
                    counts.consent_refused += 1
                    refused.add(email)
            if email not in repeats:  # counted as it is decided; a write that lost is taken back
                name = _COUNTED[outcome]
                setattr(counts, name, getattr(counts, name) + 1)
        # A ledger kept for good is kept before the change that needs it, and given its end only
        # after the change that allows it: a crash between never lets a mailable person's go.
        for contact_id, expires_at in expiries:
            if expires_at is None:
                self._consent.keep_until(contact_id, None)
        lost = self._store.put_many(changed, created, entries) if changed or created else set()
        again: dict[str, ContactRow] = {}
        gone: set[str] = set()
        if lost:  # decided again next round: neither counted nor in the ledger now
            again, gone = _lost(rows, lost, changed, created)
            for email in lost:
                if email not in repeats:
                    name = "updated" if email in existing else "created"
                    setattr(counts, name, getattr(counts, name) - 1)
                counts.consent_refused -= email in refused
        for contact_id, expires_at in expiries:
            if expires_at is not None and contact_id not in gone:
                self._consent.keep_until(contact_id, expires_at)  # the ledger's expiry moves with it
        return again

    def _consent_change(
        self,
        was: Contact | None,
        contact_id: str,
        status: str,
        line: int,
        entries: Entries,
        expiries: Expiries,
    ) -> None:
        """The row's yes or no, when it changed the person's permission, for the ledger."""
        before = was.get("status") if was else Status.PENDING
        if status == before or status == Status.PENDING:
            return
        entry = imported(self._source.at, self._source.name.removeprefix("import:"), line, status)
        expires_at = expiry(entry, self._now)
        if was is not None and (before == Status.SUBSCRIBED) != entry.mailable:
            expiries.append((contact_id, expires_at))
        entries.append((contact_id, entry, expires_at))

    def _sms_change(self, contact_id: str, permission: str, line: int, entries: Entries) -> None:
        """The row's yes or no to texts, for the ledger (channel sms: kept with the ledger)."""
        file = self._source.name.removeprefix("import:")
        entries.append((contact_id, imported(self._source.at, file, line, permission, SMS), None))

    def _unsee(self, row: ContactRow, repeat: bool, reason: str, message: str) -> None:
        """The row is rejected after all (it was counted as a row, or a duplicate, when added)."""
        if repeat:  # counted as a duplicate when added: a rejected row is counted as that instead
            self.counts.duplicates -= 1
        self._record_rejection(Rejection(row.line, "", reason, message, [row.email]))


def _lost(
    rows: dict[str, ContactRow], lost: set[str], changed: list[Contact], created: list[Newcomer]
) -> tuple[dict[str, ContactRow], set[str]]:
    """The rows whose write lost, as they came (a newcomer's row gets back the consent cells
    `newcomer` took), and the contact ids those writes would have had."""
    restored = {new.row.email: row_again(new) for new in created if new.row.email in lost}
    again = {email: restored.get(email, row) for email, row in rows.items() if email in lost}
    gone = {new.contact_id for new in created if new.row.email in lost}
    gone |= {contact["contact_id"] for contact in changed if contact["email"] in lost}
    return again, gone
