"""How a CSV opens: its encoding, the header and the mapping -- for the importer, which streams on
from there, and for the console's wizard, which shows the first rows and lets the marketer change
the mapping before anything is imported.

A mapping chosen in the wizard is checked here before it is saved: every target a field,
`attr:<name>` or skipped, each field filled by one column, and one column holding the email.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from itertools import islice
from typing import Any

from .fields import FIELD_KINDS, header_key
from .mapping import ATTR_PREFIX, IGNORE, MAX_ATTR_NAME, Mapping, MappingError, resolve_mapping
from .textstream import Encoding, Header, Line, RecordReader, detect_encoding, iter_lines, read_header

PREVIEW_BYTES = 256 * 1024  # the wizard reads this much of the file
PREVIEW_ROWS = 10
PREVIEW_CELL = 200  # characters of a cell the wizard shows
DELIMITER_NAMES = {"\t": "tab", ",": "comma", ";": "semicolon"}


@dataclass
class Opening:
    encoding: Encoding
    header: Header
    mapping: Mapping
    lines: Iterator[Line]  # the lines after the header


def open_file(
    first: bytes, rest: Iterator[bytes], saved: MappingABC[str, object] | None, saved_name: str
) -> Opening:
    """The encoding from the first bytes, the header, the mapping (saved choices first)."""
    encoding = detect_encoding(first)
    lines = iter_lines(_chain(first[encoding.bom_length :], rest), encoding, encoding.bom_length)
    header = read_header(lines)
    return Opening(encoding, header, resolve_mapping(header.cells, saved, saved_name), lines)


def preview(
    first: bytes, complete: bool, saved: MappingABC[str, object] | None, saved_name: str
) -> dict[str, Any]:
    """What the wizard shows of a file whose first bytes are `first` (`complete`: the whole file).
    Raises UnreadableFileError or MappingError as the importer would."""
    opening = open_file(first, iter(()), saved, saved_name)
    lines: Iterator[Line] = opening.lines
    if not complete:  # the last line read may be cut short
        lines = _all_but_last(lines)
    records = RecordReader(lines, opening.header.delimiter, opening.header.line + 1)
    rows = [[cell[:PREVIEW_CELL] for cell in r.values] for r in islice(records, PREVIEW_ROWS) if not r.error]
    mapping = opening.mapping
    return {
        "encoding": opening.encoding.label,
        "delimiter": DELIMITER_NAMES.get(opening.header.delimiter, opening.header.delimiter),
        "columns": [
            {
                "header": c.header,
                "target": c.target,
                "samples": [row[c.index] for row in rows if c.index < len(row)],
            }
            for c in mapping.columns
        ],
        "rows": rows,
        "mapping_source": mapping.source,
        "has_email": mapping.has_email,
        "warnings": list(mapping.warnings),
        "fields": sorted(FIELD_KINDS),
    }


def chosen_mapping(headers: list[str], chosen: object) -> dict[str, str | None]:
    """The wizard's choices, checked: {header: field, "attr:<name>" or None (skip)} for every
    header of the file.  Raises MappingError naming what is wrong."""
    if not isinstance(chosen, MappingABC):
        raise MappingError('Send the mapping as {"columns": {"<header>": "<field>", ...}}.')
    if len({header_key(h) for h in headers}) < len(headers):
        raise MappingError("Two columns have the same name; rename one in the file first.")
    unknown = [str(h) for h in chosen if str(h) not in headers]
    if unknown:
        raise MappingError(f"The file has no column {unknown[0][:80]!r}.")
    columns: dict[str, str | None] = {}
    filled: dict[str, str] = {}
    for header in headers:
        target = chosen.get(header, IGNORE)
        if target is None or target == IGNORE:
            columns[header] = None
            continue
        if not isinstance(target, str) or not _is_target(target):
            raise MappingError(
                f"Column {header[:80]!r} maps to {str(target)[:80]!r}, which is not a field "
                f"({', '.join(sorted(FIELD_KINDS))}), 'attr:<name>' or null."
            )
        if target in filled:
            raise MappingError(
                f"Columns {filled[target][:80]!r} and {header[:80]!r} both fill {target}; choose one."
            )
        filled[target] = header
        columns[header] = target
    if "email" not in filled:
        raise MappingError("No column is mapped to email: choose the column that holds the addresses.")
    return columns


def _is_target(target: str) -> bool:
    if target in FIELD_KINDS:
        return True
    name = target[len(ATTR_PREFIX) :]
    return target.startswith(ATTR_PREFIX) and 0 < len(name.strip()) <= MAX_ATTR_NAME


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _all_but_last(lines: Iterator[Line]) -> Iterator[Line]:
    held = next(lines, None)
    for line in lines:
        if held is not None:
            yield held
        held = line
