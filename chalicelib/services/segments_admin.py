"""Segments for the admin API: sizes, members page by page, and a CSV export to the bucket."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.errors import NotFoundError
from chalicelib.domain.report import safe_cell
from chalicelib.services.definitions import DefinitionsService
from chalicelib.services.ports import Clock, ContactRepository, Files, SegmentRepository

EXPORT_COLUMNS = ("contact_id", "email", "name", "company", "grade", "status", "since")


class SegmentsAdmin:
    def __init__(
        self,
        definitions: DefinitionsService,
        segments: SegmentRepository,
        contacts: ContactRepository,
        files: Files,
        clock: Clock,
    ) -> None:
        self._definitions = definitions
        self._segments = segments
        self._contacts = contacts
        self._files = files
        self._clock = clock

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
        return {"segment": name, "key": key, "rows": rows}

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
