"""Contacts to and from DynamoDB's wire format, fast.

PynamoDB builds a model object per item (~50 µs); an import writes tens of
thousands of items a second, so the hot path uses this codec instead.  A test
holds it to exactly what ContactModel.serialize() produces.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from chalicelib.domain.contact import Contact

_NUMBERS = frozenset({"age", "purchase_count"})
_DECIMALS = frozenset({"total_spent"})
_NUMERIC = (*_NUMBERS, *_DECIMALS)
_SPECIAL = frozenset({*_NUMERIC, "attrs"})

Item = dict[str, dict[str, Any]]

# What evaluation keeps on a contact (scores, segments, products bought...) is
# nested; it goes through boto3's generic types, the flat fields stay fast.
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def to_item(contact: Contact) -> Item:
    item: Item = {
        k: {"S": v} if isinstance(v, str) else dict(_SERIALIZER.serialize(v))
        for k, v in contact.items()
        if k not in _SPECIAL and v is not None
    }
    for name in _NUMERIC:
        value = contact.get(name)
        if value is not None:
            item[name] = {"N": str(value)}
    attrs = contact.get("attrs")
    if attrs:
        item["attrs"] = {"M": {k: {"S": v} for k, v in attrs.items()}}
    return item


def from_item(item: Item) -> Contact:
    contact: Contact = {"attrs": {}}
    for name, wire in item.items():
        if name == "attrs":
            contact[name] = {k: v["S"] for k, v in wire["M"].items()}
        elif name in _NUMBERS:
            contact[name] = int(wire["N"])
        elif name in _DECIMALS:
            contact[name] = Decimal(wire["N"])
        elif "S" in wire:
            contact[name] = wire["S"]
        else:
            contact[name] = _DESERIALIZER.deserialize(wire)  # type: ignore[arg-type]
    return contact
