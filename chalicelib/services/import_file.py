"""Use case: a CSV landed under imports/ -- turn it into contacts and a report.

At-least-once delivery is the rule, so the import is keyed by the object's
key, ETag and S3 sequencer: a repeated event finds the import done and does
nothing.  A file too large for one Lambda run stops at a batch boundary,
saves a checkpoint (byte offset, counts, the duplicate fingerprints, the
rejected rows so far) and queues a continuation; the next run resumes with a
ranged GET from that offset, so no row is imported twice or lost.

The report is there while the import runs: `status: running` with the counts so
far, bytes done, rate and time left, written when the first run has read the
header, then every PROGRESS_SECONDS by the clock and at each pause -- a small S3
put, never a DynamoDB write.  Only a NEW claim starts a report, so a repeated
event for a finished import leaves its final report as it is.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO

from chalicelib.domain.contact import Source
from chalicelib.domain.errors import FileChangedError, TransientError
from chalicelib.domain.import_preview import open_file
from chalicelib.domain.imports import Claim, ObjectCreated
from chalicelib.domain.mapping import MappingError
from chalicelib.domain.report import ImportReport, Progress, errors_csv_header
from chalicelib.domain.rows import Rejection, RowParser
from chalicelib.domain.seen import SeenSet
from chalicelib.domain.textstream import UnreadableFileError, read_records
from chalicelib.services.import_batch import Batcher
from chalicelib.services.import_state import Checkpoint
from chalicelib.services.ports import Clock, ConsentLedger, ContactStore, Files, Ledger, WorkQueue

IMPORT_PREFIX = "imports/"
RESULT_PREFIX = "results/"
MAPPING_PREFIX = "mappings/"
STATE_PREFIX = ".sodate/imports/"
ACCEPTED_SUFFIXES = (".csv", ".tsv", ".txt")
LEASE_SECONDS = 16 * 60
SAFETY_MS = 90_000  # stop this long before Lambda's deadline
PROGRESS_SECONDS = 5.0  # the running report is rewritten at most this often (and at each pause)


class ImportBusyError(TransientError):
    """Another run holds this import; the message returns to the queue and is retried."""


@dataclass
class Importer:
    store: ContactStore
    files: Files
    ledger: Ledger
    continuations: WorkQueue
    clock: Clock
    consent: ConsentLedger
    new_id: Callable[[], str] = lambda: os.urandom(16).hex()
    rows_per_run: int = 0
    max_file_bytes: int = 2 * 1024**3
    _started: dict[str, float] = field(default_factory=dict)

    # --- entry points ---------------------------------------------------------
    def object_created(self, event: ObjectCreated, remaining_ms: Callable[[], int]) -> ImportReport | None:
        if not event.key.startswith(IMPORT_PREFIX) or event.key.endswith("/"):
            return None
        claim, saved = self.ledger.claim(event.import_id, event.key, self._now(), LEASE_SECONDS)
        if claim is Claim.DONE:
            return None
        if claim is Claim.BUSY:
            raise ImportBusyError(f"{event.key} is being imported by another run.")
        if claim is Claim.RESUME and saved:
            return self._run(Checkpoint.from_json(saved), remaining_ms)
        now = self._now()
        checkpoint = Checkpoint(event.import_id, event.key, event.etag, event.size, _iso(now), now)
        return self._start(checkpoint, remaining_ms)

    def continue_import(self, import_id: str, remaining_ms: Callable[[], int]) -> ImportReport | None:
        saved = self.ledger.checkpoint_of(import_id)
        if saved is None:
            return None
        checkpoint = Checkpoint.from_json(saved)
        claim, saved = self.ledger.claim(import_id, checkpoint.key, self._now(), LEASE_SECONDS)
        if claim is Claim.BUSY:
            raise ImportBusyError(f"{checkpoint.key} is being imported by another run.")
        if claim is not Claim.RESUME or not saved:
            return None
        return self._run(Checkpoint.from_json(saved), remaining_ms)

    # --- the run --------------------------------------------------------------
    def _start(self, cp: Checkpoint, remaining_ms: Callable[[], int]) -> ImportReport | None:
        try:
            if not cp.key.lower().endswith(ACCEPTED_SUFFIXES):
                raise UnreadableFileError(
                    "not_csv", "Only .csv, .tsv and .txt files are imported; export the sheet as CSV."
                )
            if cp.size > self.max_file_bytes:
                raise UnreadableFileError(
                    "too_large", f"The file has {cp.size} bytes; the limit is {self.max_file_bytes}."
                )
            if cp.size == 0:
                raise UnreadableFileError("empty_file", "The file is empty.")
            chunks = self.files.read_chunks(cp.key, 0, cp.etag)
            opening = open_file(next(chunks, b""), chunks, *saved_mapping(self.files, cp.key))
            encoding, header, mapping = opening.encoding, opening.header, opening.mapping
            if not mapping.has_email:
                raise UnreadableFileError(
                    "no_email_column",
                    "No column holds email addresses. Headers found: "
                    + ", ".join(repr(h) for h in header.cells)
                    + ". Name one 'email' or 'メールアドレス', or add a mapping file.",
                )
        except (UnreadableFileError, MappingError) as error:
            reason = getattr(error, "reason", "invalid_mapping")
            return self._fail(cp, reason, str(error))
        except FileChangedError:
            return self._fail(cp, "file_replaced", "The file was replaced during the import.")
        cp.offset, cp.next_line = header.end, header.line + 1
        cp.set_encoding(encoding)
        cp.delimiter, cp.headers = header.delimiter, header.cells
        cp.set_mapping(mapping)
        return self._run(cp, remaining_ms)

    def _run(self, cp: Checkpoint, remaining_ms: Callable[[], int]) -> ImportReport | None:
        cp.runs += 1
        if cp.runs == 1:  # a resumed run carries on from the report its last pause wrote
            self._progress(cp)
        seen = self._load_seen(cp)
        with tempfile.SpooledTemporaryFile(
            max_size=1 << 20, mode="w+", encoding="utf-8", newline=""
        ) as errors:
            return self._consume(cp, seen, errors, remaining_ms)

    def _consume(
        self, cp: Checkpoint, seen: SeenSet, errors: IO[str], remaining_ms: Callable[[], int]
    ) -> ImportReport | None:
        source = Source(f"import:{_file_name(cp.key)}", self._iso())
        batcher = Batcher(
            self.store,
            source,
            seen,
            errors,
            self.new_id,
            cp.counts,
            cp.rejected_by_reason,
            self.consent,
            self._now(),
        )
        parser = RowParser(cp.get_mapping())
        rows_this_run = 0
        next_report = self._now() + PROGRESS_SECONDS
        try:
            chunks = self.files.read_chunks(cp.key, cp.offset, cp.etag)
            for record in read_records(chunks, cp.get_encoding(), cp.offset, cp.delimiter, cp.next_line):
                if record.error:
                    batcher.reject(_broken(record.error, record.line, record.values))
                else:
                    parsed = parser.parse(record.values, record.line)
                    if isinstance(parsed, Rejection):
                        batcher.reject(parsed)
                    else:
                        batcher.add(parsed)
                rows_this_run += 1
                if batcher.full:
                    batcher.flush()
                    cp.offset, cp.next_line = record.end, record.next_line
                    if self._should_pause(rows_this_run, remaining_ms):
                        self._pause(cp, seen, errors)
                        return None
                    if self._now() >= next_report:
                        self._progress(cp)
                        next_report = self._now() + PROGRESS_SECONDS
            batcher.flush()
        except FileChangedError:
            return self._fail(
                cp,
                "file_replaced",
                "The file was replaced during the import; the new file is imported on its own.",
            )
        return self._finish(cp, errors)

    def _should_pause(self, rows_this_run: int, remaining_ms: Callable[[], int]) -> bool:
        if self.rows_per_run and rows_this_run >= self.rows_per_run:
            return True
        return remaining_ms() < SAFETY_MS

    def _pause(self, cp: Checkpoint, seen: SeenSet, errors: IO[str]) -> None:
        self._save_error_part(cp, errors)
        self.files.put_bytes(_state_key(cp, "seen.bin"), seen.to_bytes(), "application/octet-stream")
        self.ledger.save(cp.import_id, cp.to_json(), self._now(), release=True)
        self._progress(cp)  # before the continuation is queued: it never lands after the final report
        self.continuations.continue_import(cp.import_id)

    # --- results --------------------------------------------------------------
    def _finish(self, cp: Checkpoint, errors: IO[str]) -> ImportReport:
        report = self._report(cp, "imported")
        self._save_error_part(cp, errors)
        errors_key = f"{results_key(cp.key)}.errors.csv"
        if cp.counts.rejected:
            self._write_errors_file(cp, errors_key)
            report.errors_file = errors_key
        else:
            self.files.delete(errors_key)  # an older upload's errors must not linger
        self._clean_state(cp)
        return self._publish(cp, report)

    def _fail(self, cp: Checkpoint, reason: str, message: str) -> ImportReport:
        report = self._report(cp, "failed")
        report.error = {"reason": reason, "message": message}
        self._clean_state(cp)
        if reason == "file_replaced":
            # The results are the file's now there: its own import writes them, before or after
            # this one (S3 does not promise the events' order).  This outcome stays in the ledger.
            self.ledger.finish(cp.import_id, json.dumps(report.as_json(), ensure_ascii=False), self._now())
            return report
        self.files.delete(f"{results_key(cp.key)}.errors.csv")
        return self._publish(cp, report)

    def _progress(self, cp: Checkpoint) -> None:
        """The running report: what the checkpoint holds so far (an S3 put, no ledger write)."""
        self._put_report(cp, self._report(cp, "running"))

    def _publish(self, cp: Checkpoint, report: ImportReport) -> ImportReport:
        body = self._put_report(cp, report)
        self.ledger.finish(cp.import_id, body.decode("utf-8"), self._now())
        return report

    def _put_report(self, cp: Checkpoint, report: ImportReport) -> bytes:
        body = json.dumps(report.as_json(), ensure_ascii=False, indent=2).encode("utf-8")
        self.files.put_bytes(f"{results_key(cp.key)}.json", body, "application/json")
        return body

    def _report(self, cp: Checkpoint, status: str) -> ImportReport:
        now = self._now()
        mapping = cp.get_mapping() if cp.mapping else None
        done = cp.size if status == "imported" else cp.offset
        started = cp.started or datetime.fromisoformat(cp.started_at).timestamp()  # an older checkpoint
        progress = Progress.of(cp.counts.rows, done, cp.size, now - started)
        if status == "failed":
            progress.seconds_left = None
        return ImportReport(
            file=cp.key,
            status=status,
            counts=cp.counts,
            encoding=cp.encoding.get("label"),
            delimiter=cp.delimiter if cp.headers else None,
            mapping=mapping.as_report() if mapping else {},
            mapping_source=mapping.source if mapping else None,
            warnings=list(mapping.warnings) if mapping else [],
            rejected_by_reason=dict(sorted(cp.rejected_by_reason.items())),
            started_at=cp.started_at,
            finished_at=None if status == "running" else _iso(now),
            runs=cp.runs,
            progress=progress,
            updated_at=_iso(now),
        )

    def _save_error_part(self, cp: Checkpoint, errors: IO[str]) -> None:
        if errors.tell() == 0:
            return
        errors.seek(0)
        cp.error_parts += 1
        body = errors.read().encode("utf-8")
        self.files.put_bytes(_state_key(cp, f"errors-{cp.error_parts:05d}.csv"), body, "text/csv")

    def _write_errors_file(self, cp: Checkpoint, errors_key: str) -> None:
        with tempfile.TemporaryFile() as joined:
            joined.write(b"\xef\xbb\xbf")  # BOM: Excel opens UTF-8 CSV correctly only with it
            joined.write(errors_csv_header(cp.headers).encode("utf-8"))
            for part in range(1, cp.error_parts + 1):
                joined.write(self.files.get_bytes(_state_key(cp, f"errors-{part:05d}.csv")) or b"")
            joined.seek(0)
            self.files.put_file(errors_key, joined, "text/csv; charset=utf-8")

    def _clean_state(self, cp: Checkpoint) -> None:
        for part in range(1, cp.error_parts + 1):
            self.files.delete(_state_key(cp, f"errors-{part:05d}.csv"))
        if cp.runs > 1:
            self.files.delete(_state_key(cp, "seen.bin"))

    def _load_seen(self, cp: Checkpoint) -> SeenSet:
        if cp.runs == 1:
            return SeenSet()
        data = self.files.get_bytes(_state_key(cp, "seen.bin"))
        return SeenSet.from_bytes(data or b"")

    def _now(self) -> float:
        return self.clock()

    def _iso(self) -> str:
        return _iso(self.clock())


def saved_mapping(files: Files, key: str) -> tuple[dict[str, object] | None, str]:
    """The mapping kept for the file at `key` (mappings/<file stem>.json, else
    mappings/default.json) and where it came from; (None, "") when there is none."""
    for candidate in (mapping_key(key), f"{MAPPING_PREFIX}default.json"):
        raw = files.get_bytes(candidate)
        if raw is not None:
            try:
                saved = json.loads(raw.decode("utf-8-sig"))
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise MappingError(f"{candidate} is not valid JSON: {error}") from None
            if not isinstance(saved, dict):
                raise MappingError(f"{candidate} must hold a JSON object.")
            return saved, candidate
    return None, ""


def mapping_key(key: str) -> str:
    """Where the mapping of the file at `key` is kept: mappings/<file stem>.json."""
    return f"{MAPPING_PREFIX}{_file_name(key).rsplit('.', 1)[0]}.json"


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def _broken(reason: str, line: int, values: list[str]) -> Rejection:
    message = {
        "encoding": "The row holds bytes that are not valid in the file's encoding.",
        "malformed_row": "The row cannot be read as CSV (an unclosed quote or an oversized cell).",
    }[reason]
    return Rejection(line, "", reason, message, values)


def _name(key: str) -> str:
    return key[len(IMPORT_PREFIX) :]


def results_key(key: str) -> str:
    """Where an import's reports go: results/<name>, except that a file under imports/config/
    reports under results/imports/config/ -- results/config/ holds the definitions' verdicts,
    and an import must never overwrite one."""
    name = _name(key)
    return f"{RESULT_PREFIX}imports/{name}" if name.startswith("config/") else f"{RESULT_PREFIX}{name}"


def _file_name(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def _state_key(cp: Checkpoint, name: str) -> str:
    return f"{STATE_PREFIX}{cp.import_id}/{name}"
