"""Use case: the console's import wizard.

The browser posts the CSV straight to the bucket with a signed form, under uploads/<id>/, where
nothing is started (and what is left is deleted after a day).  The desk then shows how the file
reads -- encoding, delimiter, the first rows, the mapping proposed for each column -- the same
way the importer will read it.  Starting saves the chosen mapping as the file's own
(mappings/<file stem>.json, used again for every file of that name) and copies the file to
imports/<name>: from there it is an import like any file dropped in the bucket, with its running
report, its errors file and its exactly-once rules.  The history is read from results/.
"""

from __future__ import annotations

import json
import re
import secrets
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from chalicelib.domain.errors import BadInputError, NotFoundError
from chalicelib.domain.import_preview import PREVIEW_BYTES, chosen_mapping, open_file, preview
from chalicelib.domain.imports import StoredFile
from chalicelib.domain.mapping import MappingError
from chalicelib.domain.textstream import UnreadableFileError
from chalicelib.services.import_file import (
    ACCEPTED_SUFFIXES,
    IMPORT_PREFIX,
    RESULT_PREFIX,
    mapping_key,
    results_key,
    saved_mapping,
)
from chalicelib.services.ports import Bucket, Clock

UPLOAD_PREFIX = "uploads/"
UPLOAD_SECONDS = 15 * 60  # how long the signed form may be used
LINK_SECONDS = 5 * 60  # how long the errors file's link works
MAX_NAME = 120
HISTORY = 20  # imports the history shows, newest first
LISTED = 5000  # result files listed to find them (two per import at most)
_UPLOAD_ID = re.compile(r"[0-9a-f]{24}")


@dataclass
class ImportDesk:
    files: Bucket
    clock: Clock
    max_file_bytes: int
    new_id: Callable[[], str] = lambda: secrets.token_hex(12)

    def upload(self, name: object) -> dict[str, Any]:
        """A signed form the browser posts the file with, straight to the bucket."""
        file_name = checked_name(name)
        upload_id = self.new_id()
        url, fields = self.files.upload_form(
            f"{UPLOAD_PREFIX}{upload_id}/{file_name}", self.max_file_bytes, UPLOAD_SECONDS
        )
        return {
            "upload": upload_id,
            "name": file_name,
            "url": url,
            "fields": fields,
            "max_bytes": self.max_file_bytes,
            "expires_in": UPLOAD_SECONDS,
        }

    def upload_origin(self) -> str:
        """Where the browser's uploads go (scheme://host[:port]): the page's script may send there."""
        parts = urlsplit(self.files.upload_form(f"{UPLOAD_PREFIX}origin", 1, 60)[0])
        if not re.fullmatch(r"https?", parts.scheme) or not re.fullmatch(
            r"[A-Za-z0-9.:\[\]-]+", parts.netloc
        ):
            raise ValueError(f"an upload address that is not an origin: {parts.scheme}://{parts.netloc}")
        return f"{parts.scheme}://{parts.netloc}"

    def preview(self, upload_id: str) -> dict[str, Any]:
        """How the uploaded file reads, and the mapping proposed for it (the file's saved one
        first; a saved one that is broken is set aside with a warning)."""
        found, name = self._uploaded(upload_id)
        first = self.files.first_bytes(found.key, found.etag, PREVIEW_BYTES)
        complete = found.size <= PREVIEW_BYTES
        warnings: list[str] = []
        try:
            saved = saved_mapping(self.files, found.key)
        except MappingError as error:
            saved, warnings = (None, ""), [f"{error} It is not used here; starting saves a new one."]
        try:
            shown = preview(first, complete, *saved)
        except UnreadableFileError as error:
            raise BadInputError(f"{error.reason}: {error}") from None
        except MappingError as error:
            raise BadInputError(str(error)) from None
        shown["warnings"] = warnings + shown["warnings"]
        return {
            "upload": upload_id,
            "name": name,
            "size": found.size,
            "mapping_key": mapping_key(name),
            **shown,
        }

    def start(self, upload_id: str, chosen: object, who: str) -> dict[str, Any]:
        """Save the chosen mapping as the file's own and hand the file to the importer."""
        found, name = self._uploaded(upload_id)
        first = self.files.first_bytes(found.key, found.etag, PREVIEW_BYTES)
        try:
            headers = open_file(first, iter(()), None, "").header.cells
            columns = chosen_mapping(headers, chosen)
        except (UnreadableFileError, MappingError) as error:
            raise BadInputError(str(error)) from None
        saved_at = datetime.fromtimestamp(self.clock(), UTC).isoformat(timespec="seconds")
        kept = {"columns": columns, "saved_by": who, "saved_at": saved_at}
        body = json.dumps(kept, ensure_ascii=False, indent=1).encode()
        self.files.put_bytes(mapping_key(name), body, "application/json")
        self.files.copy(found.key, IMPORT_PREFIX + name)
        self.files.delete(found.key)
        return {
            "name": name,
            "mapping_key": mapping_key(name),
            "report": f"{results_key(IMPORT_PREFIX + name)}.json",
        }

    def report(self, name: str) -> dict[str, Any]:
        """The import's report as it stands (`status: queued` until the importer has begun)."""
        key = IMPORT_PREFIX + checked_name(name, any_suffix=True)
        raw = self.files.get_bytes(f"{results_key(key)}.json")
        if raw is not None:
            report: dict[str, Any] = json.loads(raw)
            return report
        if self.files.head(key) is not None:
            return {"file": key, "status": "queued"}
        raise NotFoundError(f"No import of {name[:MAX_NAME]!r}.")

    def errors_link(self, name: str) -> str:
        """A short-lived link to the import's rejected rows (UTF-8 CSV with a BOM)."""
        file_name = checked_name(name, any_suffix=True)
        key = f"{results_key(IMPORT_PREFIX + file_name)}.errors.csv"
        if self.files.head(key) is None:
            raise NotFoundError(f"The import of {file_name!r} rejected no rows.")
        return self.files.download_link(key, LINK_SECONDS, f"{file_name.rsplit('.', 1)[0]}.errors.csv")

    def history(self) -> dict[str, Any]:
        """The newest imports first, each with its report's status and counts."""
        listed = self.files.listing(RESULT_PREFIX, LISTED)
        reports = [
            f for f in listed if f.key.endswith(".json") and not f.key.startswith(f"{RESULT_PREFIX}config/")
        ]
        newest = sorted(reports, key=lambda f: f.modified, reverse=True)[:HISTORY]
        with ThreadPoolExecutor(max_workers=8) as pool:
            entries = list(pool.map(self._entry, newest))
        return {
            "imports": [e for e in entries if e is not None],
            "listed": len(listed),
            "complete": len(listed) < LISTED,
        }

    def _entry(self, found: StoredFile) -> dict[str, Any] | None:
        raw = self.files.get_bytes(found.key)
        try:
            report = json.loads(raw or b"")
        except ValueError:
            return None
        if not isinstance(report, dict):
            return None
        keep = ("file", "status", "rows", "created", "updated", "unchanged", "rejected", "duplicates")
        name = found.key[len(RESULT_PREFIX) : -len(".json")]
        return {
            "name": name.removeprefix("imports/"),  # results/imports/config/<x>: the import of config/<x>
            **{k: report.get(k) for k in keep},
            "started_at": report.get("started_at"),
            "finished_at": report.get("finished_at"),
            "reason": (report.get("error") or {}).get("reason"),
        }

    def _uploaded(self, upload_id: str) -> tuple[StoredFile, str]:
        if not _UPLOAD_ID.fullmatch(upload_id or ""):
            raise BadInputError("An upload is named by the 24 hexadecimal digits its form gave.")
        found = self.files.listing(f"{UPLOAD_PREFIX}{upload_id}/", 2)
        if len(found) != 1:
            raise NotFoundError(f"No upload {upload_id}: upload the file again (a form lasts 15 minutes).")
        return found[0], found[0].key.rsplit("/", 1)[-1]


def checked_name(name: object, any_suffix: bool = False) -> str:
    """A file's name as the bucket will keep it: NFC (a Mac sends Japanese names decomposed), no
    folders or control characters, at most MAX_NAME characters, .csv, .tsv or .txt.  `any_suffix`:
    the name of an import already made (any file dropped under imports/, in a folder too)."""
    if not isinstance(name, str) or not name.strip():
        raise BadInputError("Name the file, e.g. customers.csv.")
    text = unicodedata.normalize("NFC", name.strip())
    if len(text) > MAX_NAME:
        raise BadInputError(f"The file's name is longer than {MAX_NAME} characters; shorten it.")
    slashes = "\\" if any_suffix else "/\\"  # a report may be of a file dropped in a folder
    if any(c in slashes or unicodedata.category(c).startswith("C") for c in text) or text.startswith(
        (".", "/")
    ):
        raise BadInputError(
            "The file's name may not hold slashes or control characters, or start with a dot."
        )
    if not any_suffix and not text.lower().endswith(ACCEPTED_SUFFIXES):
        raise BadInputError("Only .csv, .tsv and .txt files are imported; export the sheet as CSV.")
    return text
