"""Opaque page cursors for the admin API: a sort key, base64url JSON, checked when it comes back."""

from __future__ import annotations

import base64
import json

from chalicelib.domain.errors import BadInputError


class InvalidCursorError(BadInputError):
    pass


def encode(sort_key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(sort_key).encode()).decode()


def decode(cursor: str) -> str:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        raise InvalidCursorError("The cursor is not one this API gave out.") from None
    if not isinstance(value, str):
        raise InvalidCursorError("The cursor is not one this API gave out.")
    return value
