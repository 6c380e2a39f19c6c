"""Rows in, contacts out, a hundred people at a time.

One BatchGetItem reads the people of a batch; the merge rules decide what
changed; only changed contacts are written, 25 to a BatchWriteItem.  The
counts always add up: rows = created + updated + unchanged + rejected + duplicates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from chalicelib.domain.contact import Outcome, Source, create, fold_duplicate, merge
from chalicelib.domain.report import Counts, errors_csv_rows
from chalicelib.domain.rows import ContactRow, Rejection
from chalicelib.domain.seen import SeenSet
from chalicelib.services.ports import ContactStore

BATCH_SIZE = 100


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
    ) -> None:
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
        changed = []
        for email, row in rows.items():
            if email in suppressed:
                self._unsee_as_suppressed(row, email in repeats)
                continue
            found = existing.get(email)
            merged = merge(found, row, self._source) if found else create(row, self._new_id(), self._source)
            if merged.outcome is not Outcome.UNCHANGED:
                changed.append(merged.contact)
            self.counts.consent_refused += merged.consent_refused
            if email not in repeats:
                setattr(self.counts, merged.outcome.value, getattr(self.counts, merged.outcome.value) + 1)
        self._store.put_many(changed)

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
