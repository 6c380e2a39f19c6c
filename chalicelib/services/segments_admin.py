"""Segments for the admin API: sizes, each one's size day by day (worked back from its size now
and the console's per-day counts of who entered and left -- days x 2 items, never a scan), its
rule as written, members page by page, and a CSV export to the bucket."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.errors import NotFoundError
from chalicelib.domain.figures import day_range, segment_series, size_history
from chalicelib.domain.report import safe_cell
from chalicelib.services.definitions import DefinitionsService
from chalicelib.services.figures import Figures
from chalicelib.services.ports import Bucket, Clock, ContactRepository, SegmentRepository

DOWNLOAD_SECONDS = 5 * 60  # how long an export's link works
EXPORT_COLUMNS = ("contact_id", "email", "name", "company", "grade", "status", "since")


class SegmentsAdmin:
    def __init__(
        self,
        definitions: DefinitionsService,
        segments: SegmentRepository,
        contacts: ContactRepository,
        files: Bucket,
        clock: Clock,
        figures: Figures,
    ) -> None:
        self._definitions = definitions
        self._segments = segments
        self._contacts = contacts
        self._files = files
        self._clock = clock
        self._figures = figures

    def sizes(self) -> dict[str, Any]:
        definitions = self._definitions.in_force().definitions
        counted = self._segments.sizes([s.name for s in definitions.segments])
        return {
            "segments": [
                {"name": s.name, "description": s.description, "size": counted.get(s.name, 0)}
                for s in definitions.segments
            ],
            "version": definitions.versions.get("segments"),
        }

    def history(self, name: str, params: Mapping[str, str]) -> dict[str, Any]:
        """The segment's size at the end of each day of the range (`range=` or `from`/`to`, as
        the overview), who entered and who left each day, and its rule as written."""
        self._known(name)
        today = datetime.fromtimestamp(self._clock(), UTC).date()
        span = day_range(params, today)
        entered, left = segment_series(name)
        found = self._figures.series(
            (entered, left), span.first.isoformat(), max(today, span.last).isoformat()
        )
        size_now = self._segments.sizes([name]).get(name, 0)
        days = span.days
        ins, outs = found.get(entered, {}), found.get(left, {})
        return {
            "segment": name,
            "size": size_now,
            "days": days,
            "sizes": size_history(days, size_now, ins, outs),
            "entered": [int(ins.get(d, 0)) for d in days],
            "left": [int(outs.get(d, 0)) for d in days],
            "rule": self._rule(name),
        }

    def _rule(self, name: str) -> str:
        """The segment as written in segments.yaml (its block, re-emitted), for people to read."""
        import yaml

        text = self._definitions.describe("segments")["text"]
        written = yaml.safe_load(text) or {}
        for node in written.get("segments", []) if isinstance(written, dict) else []:
            if isinstance(node, dict) and node.get("name") == name:
                return str(yaml.safe_dump(node, allow_unicode=True, sort_keys=False, width=100))
        return ""

    def members(self, name: str, limit: int, cursor: str | None) -> dict[str, Any]:
        self._known(name)
        people, next_cursor = self._segments.members(name, limit, cursor)
        return {"segment": name, "members": people, "next_cursor": next_cursor}

    def export(self, name: str) -> dict[str, Any]:
        """Every member, with the fields sales asks for, as a formula-safe CSV under exports/."""
        self._known(name)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        rows = 0
        page: list[dict[str, str]] = []
        for member in self._segments.all_members(name):
            page.append(member)
            if len(page) == 100:
                rows += self._write_rows(writer, page)
                page = []
        rows += self._write_rows(writer, page)
        stamp = datetime.fromtimestamp(self._clock(), UTC).strftime("%Y%m%dT%H%M%SZ")
        key = f"exports/{name}-{stamp}.csv"
        self._files.put_bytes(key, ("\ufeff" + buffer.getvalue()).encode("utf-8"), "text/csv; charset=utf-8")
        download = self._files.download_link(key, DOWNLOAD_SECONDS, key.rsplit("/", 1)[-1])
        return {"segment": name, "key": key, "rows": rows, "download": download}

    def _write_rows(self, writer: Any, members: list[dict[str, str]]) -> int:
        """One BatchGetItem for up to 100 members' details."""
        emails = [m["email"] for m in members]
        contacts = {c["email"]: c for c in self._contacts.by_emails(emails)} if members else {}
        for member in members:
            values = {**contacts.get(member["email"], {}), **member}
            writer.writerow([safe_cell(str(values.get(column) or "")) for column in EXPORT_COLUMNS])
        return len(members)

    def _known(self, name: str) -> None:
        definitions = self._definitions.in_force().definitions
        if name not in {s.name for s in definitions.segments}:
            raise NotFoundError(f"No segment named {name!r}.")
