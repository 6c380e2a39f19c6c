"""Contacts to and from DynamoDB's wire format, fast.

PynamoDB builds a model object per item (~50 µs); an import writes tens of
thousands of items a second, so the hot path uses this codec instead.  A test
holds it to exactly what ContactModel.serialize() produces.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chalicelib.domain.contact import REVISION, Contact, Newcomer, Source, Status

_NUMBERS = frozenset({"age", "purchase_count"})
_DECIMALS = frozenset({"total_spent"})
_NUMERIC = _NUMBERS | _DECIMALS

Item = dict[str, dict[str, Any]]

# Every write to a contact counts itself (domain.contact.REVISION), so that a write made from
# an earlier read -- an import's -- finds out whether anyone wrote in between.  An UpdateItem
# adds COUNTED to its ADD clause, with these names and values.
COUNTED = "#rev :rev1"
COUNTED_NAMES = {"#rev": REVISION}
COUNTED_VALUES = {":rev1": {"N": "1"}}
_UNCHANGED = "contact_id = :id AND #rev = :rev"
_UNCHANGED_NEVER_COUNTED = "contact_id = :id AND attribute_not_exists(#rev)"
_ABSENT = "attribute_not_exists(email)"


def wire(value: Any) -> dict[str, Any]:
    """Any JSON-like value in DynamoDB's wire format: what evaluation keeps on a contact
    (scores, segments, products bought) is nested.  Written here rather than taken from
    boto3.dynamodb.types so the import path does not load boto3 for it."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, Decimal)):
        return {"N": str(value)}
    if isinstance(value, float):
        return {"N": str(Decimal(str(value)))}
    if isinstance(value, dict):
        return {"M": {str(k): wire(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [wire(v) for v in value]}
    if value is None:
        return {"NULL": True}
    if isinstance(value, (set, frozenset)) and value and all(isinstance(v, str) for v in value):
        return {"SS": sorted(value)}  # the topics a person chose
    raise TypeError(f"cannot store {type(value).__name__}")


def plain(item: dict[str, Any]) -> Any:
    ((kind, value),) = item.items()
    if kind == "S" or kind == "BOOL":
        return value
    if kind == "N":
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() and "." not in value else number
    if kind == "M":
        return {k: plain(v) for k, v in value.items()}
    if kind == "L":
        return [plain(v) for v in value]
    if kind == "NULL":
        return None
    if kind == "SS":
        return set(value)
    raise TypeError(f"cannot read DynamoDB type {kind}")


def to_item(contact: Contact) -> Item:
    """One pass over the contact, written over a copy of it: the copy has the size the item
    needs, so no insert makes the item's table grow."""
    item: Item = contact.copy()
    for name, value in contact.items():
        if value.__class__ is str:
            item[name] = {"S": value}
        elif value is None:
            del item[name]
        elif name in _NUMERIC:
            item[name] = {"N": str(value)}
        elif name == "attrs":
            if value:
                item[name] = {"M": {k: {"S": v} for k, v in value.items()}}
            else:
                del item[name]
        else:
            item[name] = wire(value)
    for name in _NUMERIC:
        if contact.get(name).__class__ is str:  # a number kept as text is still a number
            item[name] = {"N": contact[name]}
    return item


_SHARED = 4096  # texts and whole numbers whose wire form is kept, shared by every item with them
_SHARED_CHARS = 32  # longer texts are written afresh (and not kept)


class NewcomerItems:
    """Newcomers' items straight from their rows: to_item(newcomer.contact()) without the
    contact in between, for an import writing thousands a second.  What repeats is written
    once and shared by every item that has it -- the source and time of the file, a status, a
    whole number (age, purchases) -- since boto3 only reads an item.  A test holds it to
    to_item for any row."""

    def __init__(self) -> None:
        self._source: Source | None = None
        self._source_wire: dict[str, str] = {}
        self._at_wire: dict[str, str] = {}
        self._statuses: dict[str, dict[str, str]] = {}
        self._numbers: dict[int, dict[str, str]] = {}
        self._texts: dict[str, dict[str, str]] = {}

    def item(self, new: Newcomer) -> Item:
        if new.source is not self._source:
            self._source = new.source
            self._source_wire, self._at_wire = {"S": new.source.name}, {"S": new.source.at}
        source, at = self._source_wire, self._at_wire
        status = self._statuses.get(new.status) or self._statuses.setdefault(new.status, {"S": new.status})
        row = new.row
        item: Item = {
            "email": {"S": row.email},
            "contact_id": {"S": new.contact_id},
            "status": status,
            "source": source,
            "created_at": at,
            "updated_at": at,
        }
        numbers, texts = self._numbers, self._texts
        for name, value in row.fields.items():
            if type(value) is str:
                wire_form = texts.get(value)
                if wire_form is None:
                    wire_form = {"S": value}
                    if len(texts) < _SHARED and len(value) <= _SHARED_CHARS:
                        texts[value] = wire_form
            elif type(value) is int:  # not a bool
                wire_form = numbers.get(value)
                if wire_form is None:
                    wire_form = {"N": str(value)}
                    if len(numbers) < _SHARED:
                        numbers[value] = wire_form
            else:
                wire_form = wire(value)
            item[name] = wire_form
        if row.attrs:
            item["attrs"] = {"M": {k: {"S": v} for k, v in row.attrs.items()}}
        if new.status != Status.PENDING:
            item["consent_source"] = source
            item["consent_at"] = at
        return item


def put_if_unchanged(table: str, contact: Contact) -> dict[str, Any]:
    """A transaction's Put of a contact changed from a read: written only if the item is still
    the one read -- the same person (an erased and re-created one has a new id) and the same
    count of writes -- and counted as one more."""
    item = to_item(contact)
    read = contact.get(REVISION)
    item[REVISION] = {"N": str((read or 0) + 1)}
    values = {":id": item["contact_id"]}
    if read is None:
        condition = _UNCHANGED_NEVER_COUNTED
    else:
        condition, values[":rev"] = _UNCHANGED, {"N": str(read)}
    put = {"TableName": table, "Item": item, "ConditionExpression": condition}
    return {"Put": put | {"ExpressionAttributeNames": COUNTED_NAMES, "ExpressionAttributeValues": values}}


def put_if_absent(table: str, item: Item) -> dict[str, Any]:
    """A transaction's Put of a new person: written only if nobody holds the address yet."""
    return {"Put": {"TableName": table, "Item": item, "ConditionExpression": _ABSENT}}


def from_item(item: Item) -> Contact:
    contact: Contact = {"attrs": {}}
    for name, raw in item.items():
        if name == "attrs":
            contact[name] = {k: v["S"] for k, v in raw["M"].items()}
        elif name in _NUMBERS:
            contact[name] = int(raw["N"])
        elif name in _DECIMALS:
            contact[name] = Decimal(raw["N"])
        elif "S" in raw:
            contact[name] = raw["S"]
        else:
            contact[name] = plain(raw)
    return contact
