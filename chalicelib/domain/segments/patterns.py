"""Patterns a marketer writes: globs for paths, guarded regular expressions for text.

Neither can stall evaluation.  A glob is matched by a loop that only ever
returns to the most recent star.  A regular expression is refused before it
is ever run when its shape can backtrack catastrophically: a repeat inside an
unbounded repeat (`(a+)+`), alternatives inside one (`(a|ab)*`), back
references, look-arounds, or more unbounded repeats than a text field needs.
"""

from __future__ import annotations

import re
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

MAX_PATTERN = 200
MAX_TEXT = 1000  # a regex never reads more than this much of a value
MAX_UNBOUNDED = 3


class UnsafePatternError(ValueError):
    pass


class Glob:
    """`*` and `?` wildcards, matched in O(len(path) x len(pattern)) at worst.

    A regex such as .*a.*a.*b backtracks polynomially on long paths; this
    matcher only ever returns to the most recent star, so no pattern a
    marketer writes can stall evaluation."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        body = pattern.rstrip("*")
        if "*" not in body and "?" not in body:  # "/pricing", "/pricing*", "*": no scanning needed
            if body == pattern:
                self.match = pattern.__eq__  # type: ignore[method-assign, assignment]
            else:
                self.match = lambda text: text.startswith(body)  # type: ignore[method-assign]

    def match(self, text: str) -> bool:
        pattern = self.pattern
        p = t = 0
        star, mark = -1, 0
        while t < len(text):
            if p < len(pattern) and pattern[p] in ("?", text[t]) and pattern[p] != "*":
                p += 1
                t += 1
            elif p < len(pattern) and pattern[p] == "*":
                star, mark = p, t
                p += 1
            elif star != -1:
                p, mark = star + 1, mark + 1
                t = mark
            else:
                return False
        while p < len(pattern) and pattern[p] == "*":
            p += 1
        return p == len(pattern)


def safe_regex(pattern: str) -> re.Pattern[str]:
    """Compile `pattern` (case-insensitive) or say why it could take forever."""
    if not pattern or len(pattern) > MAX_PATTERN:
        raise UnsafePatternError(f"a pattern has 1 to {MAX_PATTERN} characters")
    try:
        parsed = sre_parse.parse(pattern)
    except re.error as error:
        raise UnsafePatternError(f"not a valid regular expression ({error})") from None
    unbounded = _check(list(parsed), inside_unbounded=False)
    if unbounded > MAX_UNBOUNDED:
        raise UnsafePatternError(
            f"{unbounded} open-ended repeats could take forever on a long value (at most {MAX_UNBOUNDED})"
        )
    return re.compile(pattern, re.IGNORECASE)


def _check(items: list[tuple[Any, Any]], inside_unbounded: bool) -> int:
    """Walk the parsed pattern; returns how many unbounded repeats it holds."""
    count = 0
    for op, arg in items:
        if op in (sre.GROUPREF, sre.GROUPREF_EXISTS):
            raise UnsafePatternError("back references could take forever; use a plain pattern")
        if op in (sre.ASSERT, sre.ASSERT_NOT):
            raise UnsafePatternError("look-ahead and look-behind are not supported")
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            _, high, body = arg
            open_ended = high == sre.MAXREPEAT or high > 100
            if open_ended and inside_unbounded:
                raise UnsafePatternError("a repeat inside a repeat (like (a+)+) could take forever")
            count += open_ended
            count += _check(list(body), inside_unbounded or open_ended)
        elif op == sre.SUBPATTERN:
            count += _check(list(arg[-1]), inside_unbounded)
        elif op == sre.BRANCH:
            if inside_unbounded:
                raise UnsafePatternError("alternatives inside a repeat (like (a|ab)*) could take forever")
            for branch in arg[1]:
                count += _check(list(branch), inside_unbounded)
        elif op == sre.ATOMIC_GROUP:
            count += _check(list(arg), inside_unbounded)
    return count
