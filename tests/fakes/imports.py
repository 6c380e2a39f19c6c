"""In-memory twins of the import's ports: contacts in batches, the bucket, the ledger, the work queue."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import IO, Any

from chalicelib.domain.consent import LedgerEntry
from chalicelib.domain.contact import REVISION, Contact, Newcomer
from chalicelib.domain.emails import email_hash
from chalicelib.domain.errors import FileChangedError
from chalicelib.domain.imports import Claim, StoredFile
from chalicelib.store.contact_codec import Item, from_item, to_item
from chalicelib.store.dynamo import packed
from tests.fakes.consent import MemoryConsentLedger


class MemoryContactStore:
    """Keeps contacts as DynamoDB would (through the wire codec), counts calls, and writes only
    what DynamoDB would let through: a changed contact only if the item is still the one read
    (same id, same count of writes), a newcomer only if nobody holds the address.
    `before_write`, when set, runs as a write begins: whatever happens between a batch's read
    and its write (another writer's change)."""

    def __init__(self, consent: MemoryConsentLedger | None = None) -> None:
        self.items: dict[str, Item] = {}
        self.consent = (
            consent if consent is not None else MemoryConsentLedger()
        )  # entries go with their people
        self.suppressed: set[str] = set()
        self.write_calls = 0
        self.read_calls = 0
        self.before_write: Callable[[], None] | None = None

    def get_many(self, emails: list[str]) -> dict[str, Contact]:
        assert len(emails) <= 100, "BatchGetItem takes at most 100 keys"
        self.read_calls += 1
        return {e: from_item(self.items[e]) for e in emails if e in self.items}

    def suppressed_among(self, emails: list[str]) -> set[str]:
        self.read_calls += 1
        return {e for e in emails if email_hash(e) in self.suppressed}

    def put_many(
        self, contacts: list[Contact], newcomers: list[Newcomer], entries: list[LedgerEntry]
    ) -> set[str]:
        """A person and their consent entries are written together, or neither is."""
        if self.before_write:
            self.before_write()
        theirs: dict[str, list[LedgerEntry]] = {}
        for kept in entries:
            theirs.setdefault(kept[0], []).append(kept)
        ids = [c["contact_id"] for c in contacts] + [n.contact_id for n in newcomers]
        self.write_calls += len(packed([[{}] * (1 + len(theirs.get(i, []))) for i in ids]))  # transactions
        lost, written = set(), []
        for contact in contacts:
            email, read = contact["email"], contact.get(REVISION)
            held = self.contact(email) if email in self.items else None
            if held is None or held["contact_id"] != contact["contact_id"] or held.get(REVISION) != read:
                lost.add(email)
            else:
                self.items[email] = to_item({**contact, REVISION: (read or 0) + 1})
                written.append(contact["contact_id"])
        for new in newcomers:
            if new.row.email in self.items:
                lost.add(new.row.email)
            else:
                self.items[new.row.email] = to_item(new.contact())
                written.append(new.contact_id)
        for contact_id in written:
            for _, entry, expires_at in theirs.get(contact_id, []):
                self.consent.append(contact_id, entry, expires_at)
        return lost

    def contact(self, email: str) -> Contact:
        return from_item(self.items[email])

    # --- the other writers of contacts (sign-ups, unsubscribes, erasure), as a test stages them
    def change(self, email: str, **fields: Any) -> None:
        """Another writer's update: these fields set, the write counted."""
        contact = self.contact(email)
        self.items[email] = to_item({**contact, **fields, REVISION: contact.get(REVISION, 0) + 1})

    def create(self, contact: Contact) -> None:
        assert contact["email"] not in self.items, "created only if absent"
        self.items[contact["email"]] = to_item(contact)

    def erase(self, email: str) -> None:
        self.suppressed.add(email_hash(email))
        del self.items[email]


class MemoryFiles:
    """The bucket.  `on_chunk` runs as each chunk of a streamed read is handed over (a test's
    clock can move with it); `versions` keeps every body put under a key, in order."""

    def __init__(self, chunk_bytes: int = 64 * 1024, on_chunk: Callable[[], None] | None = None) -> None:
        self.objects: dict[str, bytes] = {}
        self.chunk_bytes = chunk_bytes
        self.etags: dict[str, str] = {}
        self.versions: dict[str, list[bytes]] = {}
        self.on_chunk = on_chunk
        self.modified: dict[str, float] = {}
        self.forms: dict[str, int] = {}  # the keys signed forms were made for, and their size limit

    def put(self, key: str, body: bytes) -> str:
        self.objects[key] = body
        self.etags[key] = f"etag-{len(self.modified)}-{len(body)}"
        self.modified[key] = float(len(self.modified))  # later puts are newer
        return self.etags[key]

    def post_form(self, fields: dict[str, str], body: bytes) -> None:
        """What a browser posting a signed form does (S3 refuses a body over the form's limit)."""
        assert len(body) <= self.forms[fields["key"]], "EntityTooLarge"
        self.put(fields["key"], body)

    def read_chunks(self, key: str, start: int, etag: str) -> Iterator[bytes]:
        if self.etags.get(key) != etag:
            raise FileChangedError(key)
        data = self.objects[key]
        for offset in range(start, len(data), self.chunk_bytes):
            if self.on_chunk:
                self.on_chunk()
            yield data[offset : offset + self.chunk_bytes]

    def get_bytes(self, key: str) -> bytes | None:
        return self.objects.get(key)

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        self.put(key, body)
        self.versions.setdefault(key, []).append(body)

    def put_file(self, key: str, body: IO[bytes], content_type: str) -> None:
        self.put(key, body.read())

    def first_bytes(self, key: str, etag: str, count: int) -> bytes:
        if self.etags.get(key) != etag:
            raise FileChangedError(key)
        return self.objects[key][:count]

    def head(self, key: str) -> StoredFile | None:
        if key not in self.objects:
            return None
        return StoredFile(key, len(self.objects[key]), self.etags[key], self.modified[key])

    def listing(self, prefix: str, most: int) -> list[StoredFile]:
        return [
            StoredFile(k, len(v), self.etags[k], self.modified[k])
            for k, v in sorted(self.objects.items())
            if k.startswith(prefix)
        ][:most]

    def copy(self, source: str, target: str) -> None:
        self.put(target, self.objects[source])

    def upload_form(self, key: str, max_bytes: int, seconds: int) -> tuple[str, dict[str, str]]:
        self.forms[key] = max_bytes
        return "https://bucket.example/", {"key": key, "policy": f"expires in {seconds}s"}

    def download_link(self, key: str, seconds: int, file_name: str) -> str:
        return f"https://bucket.example/{key}?as={file_name}&expires={seconds}"

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def text(self, key: str) -> str:
        return self.objects[key].decode("utf-8-sig")


class MemoryLedger:
    """The imports table; `writes` counts what would be DynamoDB writes."""

    def __init__(self) -> None:
        self.imports: dict[str, dict[str, Any]] = {}
        self.writes = 0

    def claim(self, import_id: str, key: str, now: float, lease_seconds: int) -> tuple[Claim, str | None]:
        held = self.imports.get(import_id)
        if held is None:
            self.writes += 1
            self.imports[import_id] = {"status": "running", "lease": now + lease_seconds, "checkpoint": None}
            return Claim.NEW, None
        if held["status"] == "done":
            return Claim.DONE, None
        if held["lease"] > now:
            return Claim.BUSY, None
        self.writes += 1
        held["lease"] = now + lease_seconds
        return Claim.RESUME, held["checkpoint"]

    def save(self, import_id: str, checkpoint_json: str, now: float, release: bool) -> None:
        self.writes += 1
        self.imports[import_id].update(checkpoint=checkpoint_json, lease=0 if release else now)

    def finish(self, import_id: str, report_json: str, now: float) -> None:
        self.writes += 1
        self.imports[import_id].update(status="done", report=report_json, checkpoint=None, lease=0)

    def checkpoint_of(self, import_id: str) -> str | None:
        held = self.imports.get(import_id)
        return held["checkpoint"] if held and held["status"] == "running" else None


class QueuedWork:
    """The work queue: what was queued, in order."""

    def __init__(self) -> None:
        self.queued: list[str] = []
        self.reevaluations: list[tuple[str, dict[str, Any] | None]] = []
        self.date_passes: list[tuple[str, dict[str, Any]]] = []
        self.sweeps: list[tuple[str, int]] = []

    def continue_import(self, import_id: str) -> None:
        self.queued.append(import_id)

    def reevaluate(self, stamp: str, start: dict[str, Any] | None = None) -> None:
        self.reevaluations.append((stamp, start))

    def date_pass(self, day: str, start: dict[str, Any]) -> None:
        self.date_passes.append((day, start))

    def sweep_erased(self, contact_id: str, after_s: int) -> None:
        self.sweeps.append((contact_id, after_s))


def csv_bytes(text: str, encoding: str = "utf-8") -> bytes:
    return io.StringIO(text).getvalue().encode(encoding)
