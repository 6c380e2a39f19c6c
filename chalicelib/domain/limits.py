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

# Every limit on what comes in, in one place (the README's "Limits" table says the same).
MAX_NESTING = 32  # levels of [ and { in any JSON or YAML Sodate reads
BEACON_BYTES = 4096  # a beacon's body (/t) or its `d` parameter (/t.gif)
BEACON_PROPS = 10  # name: value pairs in a beacon's `p`
SITE_BODY_KIB = 4  # /f, /identify and the admin API's JSON bodies
FORM_BODY_KIB = 16  # a sign-up form's post (/f with a form defined in forms.yaml)
PURCHASE_BODY_KIB = 32  # /purchases (an order with its items)
TOKEN_CHARS = 2048  # any signed token
DEFINITION_BYTES = 256 * 1024  # one definitions file (config/*.yaml or PUT /admin/definitions)
HEADER_CELL_CHARS = 200  # one column name in a CSV's first line
TRACKED_URL_CHARS = 1400  # longer links in a mail stay untracked (their token would pass TOKEN_CHARS)
FETCHED_PAGE_BYTES = 1 << 20  # a page read for tag verification, or a webhook's answer
ADMIN_PAGE = 200  # contacts in one page of the admin API
TEMPLATE_OUTPUT_CHARS = 256 * 1024  # one part of a rendered mail, or any value a template makes
TEMPLATE_WORK = (
    100_000  # steps one mail's templates may take (loop turns, calls, operators; +1 per 4 KiB made)
)
TEMPLATE_INT_BITS = 4096  # the biggest number a template may make (about 1,233 digits)
PATTERN_CHARS = 200  # one `matches` regular expression
PATTERN_TEXT_CHARS = 1000  # a `matches` pattern reads at most this much of a value
PATTERN_MEMORY_BYTES = 1 << 20  # RE2's budget for one compiled pattern (bigger ones are refused)


ID_BYTES = 1024  # the longest id anything is looked up by (DynamoDB's sort-key limit)


def can_be_id(value: str) -> bool:
    """Whether `value` can name anything at all: an empty or oversized id is an error to DynamoDB
    (a 500 to the caller), while what the caller means is "nothing by that id"."""
    return 0 < len(value) <= ID_BYTES and len(value.encode("utf-8", errors="replace")) <= ID_BYTES


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
