"""parse + map + validate + serialise, the import's CPU path, with nothing else around it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from chalicelib.domain.contact import Source, create
from chalicelib.domain.mapping import resolve_mapping
from chalicelib.domain.rows import ContactRow, RowParser
from chalicelib.domain.textstream import RecordReader, detect_encoding, iter_lines, read_header
from chalicelib.store.contact_codec import to_item


def _chunks(path: Path, start: int) -> Iterator[bytes]:
    with path.open("rb") as f:
        f.seek(start)
        while chunk := f.read(1 << 20):
            yield chunk


def run(path: Path) -> tuple[int, float]:
    """Rows and CPU seconds: bytes -> records -> mapped, validated rows -> DynamoDB items."""
    started = time.process_time()
    with path.open("rb") as f:
        encoding = detect_encoding(f.read(65536))
    lines = iter_lines(_chunks(path, encoding.bom_length), encoding, encoding.bom_length)
    header = read_header(lines)
    parser = RowParser(resolve_mapping(header.cells))
    source = Source("import:bench.csv", "2026-11-23T00:00:00+00:00")
    rows = 0
    for record in RecordReader(lines, header.delimiter, header.line + 1):
        rows += 1
        parsed = parser.parse(record.values, record.line)
        if isinstance(parsed, ContactRow):
            to_item(create(parsed, "0" * 32, source).contact)
    return rows, time.process_time() - started
