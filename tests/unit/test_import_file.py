"""The import use case, end to end over in-memory ports (GIVEN / WHEN / THEN)."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from chalicelib.domain.emails import email_hash
from chalicelib.domain.imports import ObjectCreated
from chalicelib.services.import_file import Importer
from tests.fakes import (
    FakeClock,
    MemoryConsentLedger,
    MemoryContactStore,
    MemoryFiles,
    MemoryLedger,
    QueuedWork,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class World:
    def __init__(self, rows_per_run: int = 0, seconds_per_chunk: float = 0.0) -> None:
        """`seconds_per_chunk`: reading each 1,000 bytes of a file takes that long on the clock."""
        self.clock = FakeClock(NOW)
        self.consent = MemoryConsentLedger()
        self.store = MemoryContactStore(self.consent)
        self.files = MemoryFiles(chunk_bytes=1000, on_chunk=lambda: self.clock.travel(seconds_per_chunk))
        self.ledger = MemoryLedger()
        self.queue = QueuedWork()
        ids = iter(range(10**9))
        self.importer = Importer(
            self.store,
            self.files,
            self.ledger,
            self.queue,
            clock=self.clock,
            consent=self.consent,
            new_id=lambda: f"c{next(ids):06d}",
            rows_per_run=rows_per_run,
        )

    def drop(self, name: str, body: bytes, sequencer: str = "001") -> ObjectCreated:
        key = f"imports/{name}"
        etag = self.files.put(key, body)
        return ObjectCreated(key, etag, len(body), sequencer)

    def deliver(self, event: ObjectCreated) -> dict:
        self.importer.object_created(event, lambda: 900_000)
        self.deliver_queued()
        return self.report(event.key)

    def deliver_queued(self) -> dict | None:
        """What SQS and the next Lambda runs do; the report of the import last carried on."""
        key = None
        while self.queue.queued:
            import_id = self.queue.queued.pop(0)
            key = json.loads(self.ledger.imports[import_id]["checkpoint"] or "{}").get("key", key)
            self.importer.continue_import(import_id, lambda: 900_000)
        return self.report(key) if key else None

    def report(self, key: str) -> dict:
        return json.loads(self.files.text(f"results/{key.removeprefix('imports/')}.json"))

    def reports(self, key: str) -> list[dict]:
        """Every version of the report that was written, in order."""
        return [json.loads(b) for b in self.files.versions[f"results/{key.removeprefix('imports/')}.json"]]

    def errors(self, key: str) -> list[list[str]]:
        return list(
            csv.reader(io.StringIO(self.files.text(f"results/{key.removeprefix('imports/')}.errors.csv")))
        )


CUSTOMERS = (
    "メールアドレス,氏名,年齢,性別,購入回数,最終購入日,累計購入金額,メルマガ,好きな色\r\n"
    'Taro@Example.com,山田 太郎,33,男,3,2024/1/5,"￥12,000",はい,青\r\n'
    "hanako@example.com,髙橋 花子,,女,1,令和6年1月31日,3000,,\r\n"
    "not-an-email,x,1,,,,,,\r\n"
    "jiro@example.com,次郎,abc,,,,,,\r\n"
    "taro@example.com,,,,4,,,,赤\r\n"
    '=cmd@example.com,"<script>alert(1)</script>",,,,,,,\r\n'
    'evil@example.com,"=HYPERLINK(""http://x"")",x,,,,,,\r\n'
)


def test_a_japanese_excel_export_becomes_contacts_and_a_report():
    world = World()
    report = world.deliver(world.drop("customers.csv", CUSTOMERS.encode("cp932")))

    assert report["status"] == "imported" and report["encoding"] == "cp932"
    assert (report["rows"], report["created"], report["rejected"], report["duplicates"]) == (7, 3, 3, 1)
    assert report["rows"] == sum(
        report[k] for k in ("created", "updated", "unchanged", "rejected", "duplicates")
    )
    assert report["mapping"]["メールアドレス"] == "email" and report["mapping"]["好きな色"] == "attr:好きな色"

    taro = world.store.contact("taro@example.com")
    assert taro["name"] == "山田 太郎" and taro["age"] == 33 and taro["gender"] == "male"
    assert taro["purchase_count"] == 4, "the later duplicate row's non-empty cell wins"
    assert str(taro["total_spent"]) == "12000" and taro["last_purchase_date"] == "2024-01-05"
    assert taro["status"] == "subscribed" and taro["consent_source"] == "import:customers.csv"
    assert taro["attrs"] == {"好きな色": "赤"}
    hanako = world.store.contact("hanako@example.com")
    assert hanako["name"] == "髙橋 花子" and hanako["status"] == "pending"


def test_markup_is_stored_as_inert_text():
    world = World()
    world.deliver(world.drop("customers.csv", CUSTOMERS.encode("utf-8")))
    assert world.store.contact("=cmd@example.com")["name"] == "<script>alert(1)</script>"


def test_every_rejected_row_is_reported_with_line_column_and_reason_formula_safe():
    world = World()
    event = world.drop("customers.csv", CUSTOMERS.encode("utf-8-sig"))
    report = world.deliver(event)
    header, *rows = world.errors(event.key)
    assert header[:4] == ["line", "column", "reason", "message"] and header[4] == "メールアドレス"
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("4", "メールアドレス", "invalid_email"),
        ("5", "年齢", "invalid_number"),
        ("8", "年齢", "invalid_number"),
    ]
    assert rows[2][5] == "'=HYPERLINK(\"http://x\")'"[:-1], "a formula cell is neutralised"
    assert report["rejected_by_reason"] == {"invalid_email": 1, "invalid_number": 2}
    assert report["errors_file"] == "results/customers.csv.errors.csv"


def test_the_same_event_twice_imports_once():
    world = World()
    event = world.drop("customers.csv", CUSTOMERS.encode())
    world.deliver(event)
    before = dict(world.store.items)
    assert world.importer.object_created(event, lambda: 900_000) is None
    assert world.store.items == before


def test_the_same_file_uploaded_twice_creates_nothing_new():
    world = World()
    world.deliver(world.drop("customers.csv", CUSTOMERS.encode(), sequencer="001"))
    writes = world.store.write_calls
    again = world.deliver(world.drop("customers.csv", CUSTOMERS.encode(), sequencer="002"))
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert world.store.write_calls == writes, "unchanged contacts are not rewritten"


def test_an_import_never_resubscribes_and_never_revives_an_erased_address():
    world = World()
    world.deliver(world.drop("a.csv", b"email,consent\nann@example.com,no\n"))
    world.store.suppressed.add(email_hash("erased@example.com"))
    report = world.deliver(
        world.drop("b.csv", b"email,consent\nann@example.com,yes\nerased@example.com,yes\n")
    )
    assert world.store.contact("ann@example.com")["status"] == "unsubscribed"
    assert report["consent_refused"] == 1
    assert "erased@example.com" not in world.store.items
    assert report["rejected_by_reason"] == {"suppressed": 1}


def big_file(rows: int) -> bytes:
    lines = ["email,name,purchase_count"]
    for i in range(rows):
        lines.append(f"user{i % (rows - 50)}@example.com,User {i},{i % 7}")  # 50 repeats, across batches
        if i % 97 == 0:
            lines.append(f"broken{i},x,1")
    return ("\r\n".join(lines) + "\r\n").encode("utf-16")


def test_a_file_too_big_for_one_run_continues_from_its_checkpoint():
    body = big_file(1000)
    single = World()
    whole = single.deliver(single.drop("big.csv", body))
    split = World(rows_per_run=150)
    resumed = split.deliver(split.drop("big.csv", body))

    assert resumed["runs"] > 5
    for count in ("rows", "created", "updated", "unchanged", "rejected", "duplicates"):
        assert resumed[count] == whole[count], count
    assert resumed["created"] == 950 and resumed["duplicates"] == 50
    assert split.store.items == single.store.items, "no row imported twice, none lost"
    assert split.files.text("results/big.csv.errors.csv") == single.files.text("results/big.csv.errors.csv")
    assert not [k for k in split.files.objects if k.startswith(".sodate/")], "scratch state is cleaned up"


def test_a_saved_mapping_in_the_bucket_overrides_the_automatic_one():
    world = World()
    world.files.put(
        "mappings/crm.json", json.dumps({"columns": {"Kontakt": "email", "Stufe": "attr:tier"}}).encode()
    )
    report = world.deliver(world.drop("crm.csv", b"Kontakt;Stufe\nkai@example.com;gold\n"))
    assert report["mapping_source"] == "mappings/crm.json" and report["delimiter"] == "semicolon"
    assert world.store.contact("kai@example.com")["attrs"] == {"tier": "gold"}


@pytest.mark.parametrize(
    ("name", "body", "reason"),
    [
        ("empty.csv", b"", "empty_file"),
        ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary_file"),
        ("names.csv", b"name,age\nAiko,3\n", "no_email_column"),
        ("sheet.xlsx", b"PK\x03\x04", "not_csv"),
    ],
)
def test_an_unreadable_file_gets_a_report_that_says_why_and_imports_nothing(name, body, reason):
    world = World()
    report = world.deliver(world.drop(name, body))
    assert report["status"] == "failed" and report["error"]["reason"] == reason
    assert report["error"]["message"]
    assert world.store.items == {}


def test_a_file_replaced_mid_import_stops_and_the_new_file_reports_for_itself():
    world = World(rows_per_run=100)
    event = world.drop("big.csv", big_file(500))
    world.importer.object_created(event, lambda: 900_000)
    newer = world.drop("big.csv", b"email\nnew@example.com\n", sequencer="002")  # new ETag
    stopped = world.importer.continue_import(world.queue.queued.pop(), lambda: 900_000)
    assert stopped is not None and stopped.error == {
        "reason": "file_replaced",
        "message": "The file was replaced during the import; the new file is imported on its own.",
    }
    report = world.deliver(newer)
    assert (report["status"], report["created"]) == ("imported", 1)


def test_an_older_uploads_event_handled_last_leaves_the_newer_files_report_and_errors_alone():
    world = World()
    older = world.drop("list.csv", b"email\nold@example.com\n")
    newer = world.drop("list.csv", b"email,name\nnew@example.com,New\nnot-an-email,Bad\n", sequencer="002")
    report = world.deliver(newer)  # S3 does not promise the events' order
    assert (report["created"], report["rejected"]) == (1, 1)

    world.deliver(older)

    assert world.report(older.key) == report, "the report is the file's that is there"
    assert world.errors(older.key)[1][2] == "invalid_email", "and so are its rejected rows"
    assert "old@example.com" not in world.store.items


def test_a_run_stops_before_lambdas_deadline():
    world = World()
    event = world.drop("big.csv", big_file(500))
    world.importer.object_created(event, lambda: 30_000)  # under the safety margin
    assert world.queue.queued, "the import handed itself to a next run"


def test_an_import_under_imports_config_never_overwrites_a_definitions_verdict():
    world = World()
    verdict = b'{"status": "applied", "kind": "segments"}'
    world.files.put("results/config/segments.yml.json", verdict)
    world.deliver(world.drop("config/segments.yml", b"segments: []\n"))
    assert world.files.objects["results/config/segments.yml.json"] == verdict
    report = json.loads(world.files.text("results/imports/config/segments.yml.json"))
    assert report["status"] == "failed" and report["error"]["reason"] == "not_csv"


# --- the report while the import runs ------------------------------------------------------------

COUNTS = ("created", "updated", "unchanged", "rejected", "duplicates")


def at(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_a_long_import_has_a_running_report_with_growing_rows_bytes_and_a_shrinking_eta():
    world = World(seconds_per_chunk=0.25)  # 4 KB a second: the 190 KB file takes about 48 s
    event = world.drop("big.csv", big_file(3000))
    final = world.deliver(event)

    first, *running = [r for r in world.reports(event.key) if r["status"] == "running"]
    assert (first["rows"], first["bytes_total"], first["finished_at"]) == (0, event.size, None)
    assert 0 < first["bytes_done"] < 100, "written as soon as the header is read, before any row"
    assert first["mapping"] == {"email": "email", "name": "name", "purchase_count": "purchase_count"}
    assert first["rows_per_s"] is None and first["seconds_left"] is None, "no pace yet"

    assert len(running) >= 6
    for before, after in zip([first, *running], running, strict=False):
        assert after["rows"] > before["rows"] and after["bytes_done"] > before["bytes_done"]
        assert after["seconds_left"] < (before["seconds_left"] or float("inf"))
        assert at(after["updated_at"]) - at(before["updated_at"]) >= 5, "at most one report per 5 s"
    for report in running:
        assert report["bytes_done"] <= report["bytes_total"] == event.size
        assert report["rows"] == sum(report[k] for k in COUNTS)
        assert 3000 / 48 * 0.8 < report["rows_per_s"] < 3000 / 48 * 1.25
        eta = at(report["updated_at"]) + report["seconds_left"]
        assert abs(eta - at(final["finished_at"])) <= 3, "the time left was about right"

    assert final["status"] == "imported" and final["finished_at"] and final["seconds_left"] == 0
    assert final["bytes_done"] == final["bytes_total"] == event.size
    assert (final["rows"], final["created"], final["duplicates"], final["rejected"]) == (3031, 2950, 50, 31)
    assert final["rows_per_s"] == round(3031 / (world.clock.now - NOW.timestamp()), 1)


def test_progress_reports_add_no_database_writes():
    body = big_file(3000)
    still, paced = World(), World(seconds_per_chunk=0.25)
    still.deliver(still.drop("big.csv", body))
    paced.deliver(paced.drop("big.csv", body))
    assert len(paced.reports("imports/big.csv")) > len(still.reports("imports/big.csv")) + 5
    assert paced.store.write_calls == still.store.write_calls
    assert paced.ledger.writes == still.ledger.writes


def test_a_resumed_import_keeps_reporting_with_its_totals_carried_over():
    world = World(rows_per_run=300, seconds_per_chunk=0.25)
    event = world.drop("big.csv", big_file(1000))
    world.importer.object_created(event, lambda: 900_000)

    paused = world.report(event.key)
    assert (paused["status"], paused["runs"]) == ("running", 1)
    assert 300 <= paused["rows"] < 310, "three batches of 100 people, and the broken rows among them"
    assert 0 < paused["bytes_done"] < event.size
    world.clock.travel(30)  # the continuation waits in the queue
    world.importer.continue_import(world.queue.queued.pop(0), lambda: 900_000)

    resumed = world.report(event.key)
    assert (resumed["status"], resumed["runs"]) == ("running", 2)
    assert 600 <= resumed["rows"] < 620 and resumed["rows"] > paused["rows"] + 299, "carried over"
    assert resumed["started_at"] == paused["started_at"] == NOW.isoformat()
    assert resumed["bytes_done"] > paused["bytes_done"]
    assert resumed["created"] > paused["created"] and resumed["rows"] == sum(resumed[k] for k in COUNTS)
    elapsed = world.clock.now - NOW.timestamp()
    assert resumed["rows_per_s"] == round(resumed["rows"] / elapsed, 1), "since the start, pauses included"
    left = (event.size - resumed["bytes_done"]) / (resumed["bytes_done"] / elapsed)
    assert resumed["seconds_left"] == round(left, 1)

    final = world.deliver_queued()
    assert final["status"] == "imported" and final["runs"] == 4 and final["rows"] == 1011


def test_a_repeated_event_never_turns_a_finished_report_back_to_running():
    world = World(rows_per_run=300)
    event = world.drop("big.csv", big_file(1000))
    done = world.deliver(event)
    assert done["status"] == "imported"
    written = len(world.reports(event.key))

    assert world.importer.object_created(event, lambda: 900_000) is None  # S3 delivers it again
    assert world.report(event.key) == done and len(world.reports(event.key)) == written


def test_a_repeated_event_mid_import_carries_on_and_never_restarts_the_count():
    world = World(rows_per_run=300)
    event = world.drop("big.csv", big_file(1000))
    world.importer.object_created(event, lambda: 900_000)
    world.importer.object_created(event, lambda: 900_000)  # the same event again, while paused
    rows = [r["rows"] for r in world.reports(event.key)]
    assert len(rows) == 3 and rows[0] == 0 and 300 <= rows[1] < 310 and rows[2] > rows[1] + 299
    final = world.deliver_queued()
    assert (final["rows"], final["created"]) == (1011, 950), "no row imported twice"


def test_a_new_version_of_the_file_starts_a_new_running_report():
    world = World(rows_per_run=300)
    first = world.deliver(world.drop("big.csv", big_file(1000)))
    second = world.drop("big.csv", big_file(500), sequencer="002")  # new bytes, new ETag
    world.importer.object_created(second, lambda: 900_000)

    running = world.report(second.key)
    assert running["status"] == "running" and running["bytes_total"] == second.size != first["bytes_total"]
    assert 300 <= running["rows"] < 310 and running["finished_at"] is None
    final = world.deliver_queued()
    assert final["status"] == "imported" and final["rows"] == 506 and final["bytes_done"] == second.size
