"""Segments for the admin API: sizes, members page by page, and a CSV export to the bucket."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from chalicelib.aws.clients import client
from chalicelib.aws.s3files import S3Files
from chalicelib.domain.errors import NotFoundError
from chalicelib.domain.report import safe_cell
from chalicelib.services import wiring
from chalicelib.settings import get_settings

EXPORT_COLUMNS = ("contact_id", "email", "name", "company", "grade", "status", "since")


def sizes() -> dict[str, Any]:
    definitions = wiring.definitions().in_force().definitions
    names = [s.name for s in definitions.segments]
    counted = wiring.segment_store().sizes(names)
    return {
        "segments": [
            {"name": s.name, "description": s.description, "size": counted.get(s.name, 0)}
            for s in definitions.segments
        ],
        "version": definitions.versions.get("segments"),
    }


def members(name: str, limit: int, cursor: str | None) -> dict[str, Any]:
    _known(name)
    people, next_cursor = wiring.segment_store().members(name, limit, cursor)
    return {"segment": name, "members": people, "next_cursor": next_cursor}


def export(name: str) -> dict[str, Any]:
    """Every member, with the fields sales asks for, as a formula-safe CSV under exports/."""
    _known(name)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    state = wiring.contact_state()
    rows = 0
    page: list[dict[str, str]] = []
    for member in wiring.segment_store().all_members(name):
        page.append(member)
        if len(page) == 100:
            rows += _write_rows(writer, page, state)
            page = []
    rows += _write_rows(writer, page, state)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    key = f"exports/{name}-{stamp}.csv"
    files = S3Files(client("s3"), get_settings().bucket)
    files.put_bytes(key, ("\ufeff" + buffer.getvalue()).encode("utf-8"), "text/csv; charset=utf-8")
    return {"segment": name, "key": key, "rows": rows}


def _write_rows(writer: Any, members: list[dict[str, str]], state: Any) -> int:
    """One BatchGetItem for up to 100 members' details."""
    contacts = {c["email"]: c for c in state.by_emails([m["email"] for m in members])} if members else {}
    for member in members:
        values = {**contacts.get(member["email"], {}), **member}
        writer.writerow([safe_cell(str(values.get(column) or "")) for column in EXPORT_COLUMNS])
    return len(members)


def _known(name: str) -> None:
    definitions = wiring.definitions().in_force().definitions
    if name not in {s.name for s in definitions.segments}:
        raise NotFoundError(f"No segment named {name!r}.")
