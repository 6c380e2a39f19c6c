"""DynamoDB's JSON as the API speaks it, with binary values base64-encoded (as on the wire): how
the local state writes items and stream records to disk and reads them back."""

from __future__ import annotations

import base64
from typing import Any


def encode(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _convert(value, _to_text) for name, value in item.items()}


def decode(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _convert(value, base64.b64decode) for name, value in item.items()}


_IMAGES = ("Keys", "NewImage", "OldImage")


def encode_record(record: dict[str, Any]) -> dict[str, Any]:
    change = {k: encode(v) if k in _IMAGES else v for k, v in record["dynamodb"].items()}
    return {**record, "dynamodb": change}


def decode_record(record: dict[str, Any]) -> dict[str, Any]:
    change = {k: decode(v) if k in _IMAGES else v for k, v in record["dynamodb"].items()}
    return {**record, "dynamodb": change}


def _to_text(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _convert(value: dict[str, Any], binary: Any) -> dict[str, Any]:
    """One attribute value with its binary parts passed through `binary`."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {kind: binary(inner)}
    if kind == "BS":
        return {kind: [binary(v) for v in inner]}
    if kind == "L":
        return {kind: [_convert(v, binary) for v in inner]}
    if kind == "M":
        return {kind: {k: _convert(v, binary) for k, v in inner.items()}}
    return value
