"""One CSV record -> a clean ContactRow, or a Rejection that says why."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

from .emails import InvalidEmailError, normalize_email
from .fields import FIELD_KINDS, Kind
from .mapping import ATTR_PREFIX, IGNORE, Column, Mapping
from .values import (
    InvalidValueError,
    parse_consent,
    parse_gender,
    parse_int,
    parse_iso_date,
    parse_money,
)

MAX_VALUE_CHARS = 2000
Value = str | int | Decimal | bool
Answer = TypeVar("Answer")


@dataclass(slots=True)
class ContactRow:
    line: int
    email: str  # normalised
    fields: dict[str, Value]
    attrs: dict[str, str]


@dataclass
class Rejection:
    line: int
    column: str
    reason: str
    message: str
    values: list[str]


CONTROL_CHARS = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))  # str.translate drops them


def plain_text(value: str) -> str:
    """Typed or pasted text without the control characters no name or note holds (NUL, ESC, ...);
    tabs and line breaks stay."""
    return value if value.isprintable() else value.translate(CONTROL_CHARS)


_PARSERS: dict[Kind, Callable[[str], Value]] = {
    Kind.EMAIL: normalize_email,
    Kind.TEXT: plain_text,
    Kind.INT: parse_int,
    Kind.MONEY: parse_money,
    Kind.DATE: parse_iso_date,
    Kind.GENDER: parse_gender,
    Kind.CONSENT: parse_consent,
}


MEMO_ENTRIES = 4096  # distinct cells remembered per column: a few MB at most for a whole file
MEMO_CELL_CHARS = 32  # longer cells are parsed afresh each time (and not kept)


class ColumnMemo(dict[str, Answer | None], Generic[Answer]):
    """One column's parser with the answers it gave so far (None: the cell is empty).

        Typed columns repeat themselves (dates, ages, genders, yes/no), and their parsers
        are pure, so a cell seen before is answered from here: a dict lookup instead of
        stripping, folding and matching.  Bounded, so a hostile file costs no more memory
        than a friendly one; once full, new cells are parsed and not kept.  A cell that is
        no valid value raises InvalidValueError every time (and is not kept).  The answer may
    be the clean value or any form made from it (the store keeps one of its wire text)."""

    def __init__(self, parse: Callable[[str], Answer]) -> None:
        super().__init__()
        self._parse = parse

    def __missing__(self, raw: str) -> Answer | None:
        cell = raw.strip()
        parsed = self._parse(cell) if cell else None
        if len(self) < MEMO_ENTRIES and len(raw) <= MEMO_CELL_CHARS:
            self[raw] = parsed
        return parsed


@dataclass(frozen=True)
class RowLayout:
    """Where a mapping puts each kind of cell: worked out once per file, so the hot loops
    (RowParser.parse and the store's item writer) only index into the row."""

    width: int
    headers: list[str]
    email: Column
    typed: list[tuple[int, str, Kind]]  # columns with a parser, in column order
    texts: list[tuple[int, str]]  # free-text fields
    attrs: list[tuple[int, str]]  # custom attributes, by attribute name
    names: bool  # a family or given name column: `name` may be made from them

    @classmethod
    def of(cls, mapping: Mapping) -> RowLayout:
        columns = [c for c in mapping.columns if c.target != IGNORE]
        fields = [c for c in columns if not c.target.startswith(ATTR_PREFIX) and c.target != "email"]
        return cls(
            width=len(mapping.columns),
            headers=[c.header for c in mapping.columns],
            email=next(c for c in mapping.columns if c.target == "email"),
            typed=[
                (c.index, c.target, FIELD_KINDS[c.target])
                for c in fields
                if FIELD_KINDS[c.target] is not Kind.TEXT
            ],
            texts=[(c.index, c.target) for c in fields if FIELD_KINDS[c.target] is Kind.TEXT],
            attrs=[
                (c.index, c.target[len(ATTR_PREFIX) :]) for c in columns if c.target.startswith(ATTR_PREFIX)
            ],
            names=any(c.target in ("last_name", "first_name") for c in fields),
        )


class RowParser:
    """Built once per file from its mapping; parse() is the import's hot loop."""

    def __init__(self, mapping: Mapping) -> None:
        layout = RowLayout.of(mapping)
        self._width = layout.width
        self._headers = layout.headers
        self._email = layout.email
        self._plan = [(index, target, ColumnMemo(_PARSERS[kind])) for index, target, kind in layout.typed]
        # Free text needs no parser: the same loop serves text fields and custom attributes.
        self._texts = layout.texts
        self._attrs = layout.attrs
        self._names = layout.names

    def parse(self, values: list[str], line: int) -> ContactRow | Rejection:
        width = self._width
        if len(values) != width:
            if len(values) > width and any(v.strip() for v in values[width:]):
                return Rejection(
                    line,
                    "",
                    "extra_columns",
                    f"The row has {len(values)} cells; the header has {width}.",
                    values,
                )
            if len(values) < width:
                values = values + [""] * (width - len(values))
        raw_email = values[self._email.index]
        try:
            email = normalize_email(raw_email)
        except InvalidEmailError as error:
            if not raw_email.strip():
                return Rejection(
                    line, self._email.header, "missing_email", "The email cell is empty.", values
                )
            return Rejection(line, self._email.header, "invalid_email", error.reason, values)
        # Joined, the cells are one string to measure (cheaper than each one); only when
        # together they are long can one of them be too long.
        if len("".join(values)) > MAX_VALUE_CHARS and max(map(len, values)) > MAX_VALUE_CHARS:
            return self._too_long(values, line)
        fields: dict[str, Value] = {}
        index = 0
        try:
            for index, target, memo in self._plan:
                parsed = memo[values[index]]
                if parsed is not None:
                    fields[target] = parsed
        except InvalidValueError as error:  # `index` is the column that failed
            return Rejection(line, self._headers[index], error.reason, str(error), values)
        for index, target in self._texts:
            cell = values[index].strip()
            if cell:
                fields[target] = cell if cell.isprintable() else cell.translate(CONTROL_CHARS)
        attrs = {}
        for index, name in self._attrs:
            cell = values[index].strip()
            if cell:
                attrs[name] = cell if cell.isprintable() else cell.translate(CONTROL_CHARS)
        if self._names and "name" not in fields and ("last_name" in fields or "first_name" in fields):
            fields["name"] = full_name(str(fields.get("last_name", "")), str(fields.get("first_name", "")))
        return ContactRow(line, email, fields, attrs)

    def _too_long(self, values: list[str], line: int) -> Rejection:
        index = next(i for i, v in enumerate(values) if len(v) > MAX_VALUE_CHARS)
        header = self._headers[index] if index < len(self._headers) else ""
        message = f"The value has {len(values[index])} characters; at most {MAX_VALUE_CHARS}."
        return Rejection(line, header, "value_too_long", message, values)


def full_name(last: str, first: str) -> str:
    """Japanese names read family name first; others given name first."""
    if any(ord(c) > 0x2E80 for c in last + first):
        return f"{last} {first}".strip()
    return f"{first} {last}".strip()
