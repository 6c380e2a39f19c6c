"""The import pipeline with AWS stubbed: parse, map, validate, merge, serialise."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any

from bench.costs import write_units
from chalicelib import clock
from chalicelib.domain import people_index
from chalicelib.domain.consent import ConsentEntry, LedgerEntry
from chalicelib.domain.contact import Contact, Newcomer
from chalicelib.domain.figures import CONSENT_STATES, GRADES, gauge_moves
from chalicelib.domain.imports import ObjectCreated
from chalicelib.services.import_file import Importer
from chalicelib.store.contact_codec import NewcomerItems
from chalicelib.store.contacts import people_writes
from chalicelib.store.dynamo import TRANSACTION, packed, transact_puts
from chalicelib.store.figures import RECENT, TRIM_SLACK
from tests.fakes.imports import MemoryLedger, QueuedWork

STREAM_BATCH = 100  # records the contacts stream hands its function at once (app.py)
# A shard's gauge item as it grows (store/figures.py): every gauge a number, and its batch marks.
_GAUGE_ITEM = {
    "pk": {"S": "gauges#15"},
    "sk": {"S": "*"},
    **{
        name: {"N": "1000000"}
        for name in (
            "contacts",
            *(f"consent:{s}" for s in CONSENT_STATES),
            *(f"grade:{g}" for g in GRADES),
            *(f"rfm:{r}{f}" for r in "12345" for f in "12345"),
        )
    },
    "recent": {"L": [{"S": "0" * 12}] * (RECENT + TRIM_SLACK)},
}
GAUGE_ITEM_UNITS = write_units(_GAUGE_ITEM)  # an update is billed by the item's size


class SerialisingStore:
    """Does everything a DynamoDB write does on our side -- build the conditional puts, 100 to a
    transaction, through the store's own helpers -- then drops them, so memory measures the
    pipeline, not a fake database."""

    def __init__(self, priced: bool = False) -> None:
        self.write_calls = 0
        self.read_calls = 0
        self.items_written = 0
        # With `priced`, what the bill counts too (bench/costs.py): write units of the items,
        # keys read, and what the contacts stream then writes for the new contacts.
        self.priced = priced
        self.write_units = 0
        self.read_keys = 0
        self.index_entries = 0
        self.gauge_writes = 0
        self._newcomer_items = NewcomerItems()
        self._dynamodb = _Transactions(self)

    def get_many(self, emails: list[str]) -> dict[str, Contact]:
        self.read_calls += 1
        self.read_keys += len(emails)
        return {}

    def suppressed_among(self, emails: list[str]) -> set[str]:
        self.read_calls += 1
        self.read_keys += len(emails)
        return set()

    def put_many(
        self, contacts: list[Contact], newcomers: list[Newcomer], entries: list[LedgerEntry]
    ) -> set[str]:
        groups = people_writes(
            ("contacts", "events"), contacts, newcomers, entries, self._newcomer_items.item
        )
        lost: set[str] = set()
        for pack in packed(groups):
            lost |= transact_puts(self._dynamodb, pack, "email")
        if self.priced:
            contacts = contacts + [n.contact() for n in newcomers]
            self.index_entries += sum(len(people_index.entries(c)) for c in contacts)
            for start in range(0, len(contacts), STREAM_BATCH):  # one update of a shard's gauge item
                if gauge_moves([(None, c) for c in contacts[start : start + STREAM_BATCH]]):
                    self.gauge_writes += GAUGE_ITEM_UNITS
        return lost


class _NeverRaised(Exception):
    """What the store's helper catches: a cancelled transaction, a refused request."""


class _Transactions:
    """DynamoDB's client as the store's transactions use it: each call counted, with its items
    and their write units -- two per started kilobyte, as a transactional write is billed."""

    exceptions = SimpleNamespace(TransactionCanceledException=_NeverRaised, ClientError=_NeverRaised)

    def __init__(self, store: SerialisingStore) -> None:
        self.store = store

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        assert len(TransactItems) <= TRANSACTION
        store = self.store
        store.write_calls += 1
        store.items_written += len(TransactItems)
        if store.priced:
            store.write_units += sum(2 * write_units(action["Put"]["Item"]) for action in TransactItems)
        return {}


class SerialisingLedger:
    """The consent ledger's writes an import makes itself (its entries go with their people)."""

    def __init__(self, store: SerialisingStore) -> None:
        self.store = store

    def keep_until(self, contact_id: str, expires_at: int | None) -> None:
        self.store.write_calls += 1

    def append(self, contact_id: str, entry: ConsentEntry, expires_at: int | None) -> None:
        raise AssertionError("an import appends in batches")

    def entries(self, contact_id: str) -> list[ConsentEntry]:
        return []

    def erase(self, contact_id: str) -> int:
        return 0


class DiskFiles:
    """Reads the CSV from disk a MiB at a time, like the S3 stream does."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.objects: dict[str, bytes] = {}

    def read_chunks(self, key: str, start: int, etag: str) -> Iterator[bytes]:
        with self.path.open("rb") as f:
            f.seek(start)
            while chunk := f.read(1 << 20):
                yield chunk

    def get_bytes(self, key: str) -> bytes | None:
        return self.objects.get(key)

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = body

    def put_file(self, key: str, body: IO[bytes], content_type: str) -> None:
        self.objects[key] = body.read(0)  # the errors file: its size is not what we measure

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)


def run(path: Path, priced: bool = False) -> tuple[int, float, SerialisingStore]:
    store = SerialisingStore(priced)
    importer = Importer(
        store, DiskFiles(path), MemoryLedger(), QueuedWork(), clock.now, SerialisingLedger(store)
    )
    event = ObjectCreated("imports/bench.csv", "etag", path.stat().st_size, "1")
    started = time.process_time()
    report = importer.object_created(event, lambda: 900_000)
    elapsed = time.process_time() - started
    assert report is not None and report.status == "imported", report
    return report.counts.rows, elapsed, store


def peak_rss_kib() -> int:
    """This process's own high-water mark.  VmHWM starts afresh at exec; ru_maxrss would
    also count what the parent had touched before forking (a large bench parent inflates it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":  # a child process for the memory figure
    rows = run(Path(sys.argv[1]))[0]
    print(rows, peak_rss_kib())
