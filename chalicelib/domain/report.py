"""What a marketer gets back: the summary JSON and the rejected rows as CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from typing import Any

from .rows import Rejection

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Counts:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duplicates: int = 0  # rows for a person already seen earlier in the same file
    consent_refused: int = 0  # "yes" cells ignored because the person had opted out

    def add(self, other: Counts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass
class Progress:
    """How far an import has got: bytes of the file behind it, and what the pace so far says."""

    bytes_done: int
    bytes_total: int
    rows_per_s: float | None  # rows since the import started / seconds since it started
    seconds_left: float | None  # bytes left at the byte rate so far; None until there is a rate

    @classmethod
    def of(cls, rows: int, bytes_done: int, bytes_total: int, elapsed_s: float) -> Progress:
        bytes_done = min(max(bytes_done, 0), bytes_total)
        if elapsed_s <= 0 or rows <= 0 or bytes_done <= 0:  # no pace yet (the header alone is read)
            return cls(bytes_done, bytes_total, None, None)
        byte_rate = bytes_done / elapsed_s
        return cls(
            bytes_done,
            bytes_total,
            round(rows / elapsed_s, 1),
            round((bytes_total - bytes_done) / byte_rate, 1),
        )


@dataclass
class ImportReport:
    file: str
    status: str  # "running", then "imported" or "failed"
    counts: Counts = field(default_factory=Counts)
    encoding: str | None = None
    delimiter: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    mapping_source: str | None = None
    warnings: list[str] = field(default_factory=list)
    error: dict[str, str] | None = None
    errors_file: str | None = None
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    started_at: str = ""
    finished_at: str | None = ""  # None while running
    runs: int = 1
    progress: Progress | None = None
    updated_at: str = ""

    def as_json(self) -> dict[str, Any]:
        body = asdict(self)
        counts = body.pop("counts")
        body.update(body.pop("progress") or {})
        delimiter = {"\t": "tab", ",": "comma", ";": "semicolon"}.get(self.delimiter or "")
        return {
            "file": self.file,
            "status": self.status,
            **counts,
            **{k: v for k, v in body.items() if k not in ("file", "status")},
            "delimiter": delimiter,
        }


def safe_cell(value: str) -> str:
    """Neutralise a cell a spreadsheet would run as a formula (OWASP CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


ERRORS_HEADER = ["line", "column", "reason", "message"]


def errors_csv_rows(rejections: list[Rejection]) -> str:
    """Rejected rows as CSV lines (no header): where, why, then the row as it was."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for r in rejections:
        writer.writerow(
            [
                str(r.line),
                safe_cell(r.column),
                r.reason,
                safe_cell(r.message),
                *(safe_cell(v) for v in r.values),
            ]
        )
    return out.getvalue()


def errors_csv_header(headers: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([*ERRORS_HEADER, *(safe_cell(h) for h in headers)])
    return out.getvalue()
