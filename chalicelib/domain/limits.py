"""Limits on what comes in from outside, and the one JSON reader for untrusted text.

Deeply nested input ([[[[...]]]]) is refused before a parser recurses into it: Python's
parsers, and any code that walks what they return, would otherwise run out of stack and
answer a 500.  The check is a byte count for ordinary input and one linear pass only when
the input holds many brackets.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import BadInputError

MAX_NESTING = 32  # levels of [ and { in any JSON or YAML Sodate reads


class TooDeepError(BadInputError):
    """Input nested deeper than MAX_NESTING levels."""


def nesting(text: str) -> int:
    """The deepest level of [ and { outside quoted strings (JSON's "..." and YAML's '...')."""
    depth = deepest = 0
    quote = ""
    escaped = False
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    return deepest


def check_nesting(text: str, what: str = "the input") -> None:
    """TooDeepError when `text` nests deeper than MAX_NESTING (cheap unless it has many brackets)."""
    if text.count("[") + text.count("{") > MAX_NESTING and nesting(text) > MAX_NESTING:
        raise TooDeepError(f"{what} is nested deeper than {MAX_NESTING} levels")


def loads(raw: bytes | str, what: str = "the body") -> Any:
    """JSON from outside: ValueError (BadInputError for too deep) instead of a crash."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    check_nesting(text, what)
    try:
        return json.loads(text)
    except RecursionError:  # the last guard: the check above refuses such input first
        raise TooDeepError(f"{what} is nested deeper than {MAX_NESTING} levels") from None
