"""parse + map + validate + serialise, the import's CPU path, with nothing else around it,
and the floor it is held against: a bare csv.reader pass over the same file."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bench import pipeline
from chalicelib.domain.contact import Source, newcomer
from chalicelib.domain.mapping import resolve_mapping
from chalicelib.domain.rows import ContactRow, RowParser
from chalicelib.domain.textstream import detect_encoding, iter_lines, read_header, read_records
from chalicelib.store.contact_codec import NewcomerItems

Figure = Callable[[str, float, str, float | None, str], None]


def _chunks(path: Path, start: int) -> Iterator[bytes]:
    with path.open("rb") as f:
        f.seek(start)
        while chunk := f.read(1 << 20):
            yield chunk


def run(path: Path) -> tuple[int, float]:
    """Rows and CPU seconds: bytes -> records -> mapped, validated rows -> DynamoDB items, as the
    importer writes a new person's (store/contact_codec.py NewcomerItems)."""
    started = time.process_time()
    with path.open("rb") as f:
        encoding = detect_encoding(f.read(65536))
    header = read_header(iter_lines(_chunks(path, encoding.bom_length), encoding, encoding.bom_length))
    parser = RowParser(resolve_mapping(header.cells))
    source = Source("import:bench.csv", "2026-11-23T00:00:00+00:00")
    new_item = NewcomerItems().item
    rows = 0
    records = read_records(_chunks(path, header.end), encoding, header.end, header.delimiter, header.line + 1)
    for record in records:
        rows += 1
        parsed = parser.parse(record.values, record.line)
        if isinstance(parsed, ContactRow):
            new_item(newcomer(parsed, "0" * 32, source))
    return rows, time.process_time() - started


def csv_reader_floor(path: Path) -> tuple[int, float]:
    """Rows and CPU seconds of a bare csv.reader over the same file, opened as plainly as
    Python allows (the encoding its BOM names, else UTF-8): no line tracking, no checks.
    The header counts as a row here, as csv.reader sees it."""
    started = time.process_time()
    with path.open("rb") as f:
        encoding = detect_encoding(f.read(65536))
    with path.open(encoding=encoding.label, errors="replace", newline="") as f:
        rows = sum(1 for _ in csv.reader(f))
    return rows, time.process_time() - started


def figures(figure: Figure, say: Callable[[str], None], path: Path) -> None:
    """The import's CPU figures, the pipeline also as a multiple of the csv.reader floor
    (runs interleaved, best of 3 each, so both see the same machine)."""
    say("pipeline: parse + map + validate + serialise, against a bare csv.reader (best of 3)...")
    ours, floor = [], []
    for _ in range(3):
        ours.append(run(path))
        floor.append(csv_reader_floor(path))
    rows, seconds = min(ours, key=lambda r: r[1])
    floor_rows, floor_seconds = min(floor, key=lambda r: r[1])
    rate, floor_rate = rows / seconds, floor_rows / floor_seconds
    say(f"  pipeline {rate:,.0f} rows/s; csv.reader {floor_rate:,.0f} rows/s")
    figure("import_pipeline_rows_per_s", rate, "rows/s", 50000, "higher")
    figure("import_pipeline_ratio_to_csv_reader", rate / floor_rate, "x", 0.15, "higher")
    say("importer use case with AWS stubbed (best of 3)...")
    runs = [pipeline.run(path) for _ in range(3)]
    rows, seconds, store = min(runs, key=lambda r: r[1])
    figure("importer_rows_per_s", rows / seconds, "rows/s", 50000, "higher")
    figure("dynamodb_write_calls_per_1000_rows", store.write_calls * 1000 / rows, "calls", 40, "lower")
