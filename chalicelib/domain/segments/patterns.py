"""Patterns a marketer writes: globs for paths, regular expressions for text.

Neither can stall evaluation.  A glob is matched by a loop that only ever
returns to the most recent star.  A regular expression runs on RE2, an engine
whose time is linear in the length of the text for every pattern it accepts
(no backtracking), so `(a+)+$` or `.*.*.*x` cost what `abc` costs.  What RE2
cannot run in linear time -- back references, look-arounds -- it refuses,
and so do we, with a message that says why.
"""

from __future__ import annotations

import re
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import re2

from ..limits import PATTERN_CHARS, PATTERN_MEMORY_BYTES, PATTERN_TEXT_CHARS


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


class TextPattern:
    """A compiled `matches` pattern: case-insensitive, reading at most PATTERN_TEXT_CHARS."""

    __slots__ = ("_search", "source")

    def __init__(self, source: str, compiled: Any) -> None:
        self.source = source
        self._search = compiled.search

    def found_in(self, text: str) -> bool:
        return self._search(text[:PATTERN_TEXT_CHARS]) is not None


def _options() -> Any:
    options = re2.Options()
    options.case_sensitive = False
    options.max_mem = PATTERN_MEMORY_BYTES  # a bigger program is refused at compile time
    options.log_errors = False
    options.never_capture = True  # a yes/no answer needs no groups: RE2 stays on its DFA
    return options


_OPTIONS = _options()


def safe_regex(pattern: str) -> TextPattern:
    """Compile `pattern` for RE2 or say, in a marketer's words, why it cannot be run."""
    if not pattern or len(pattern) > PATTERN_CHARS:
        raise UnsafePatternError(f"a pattern has 1 to {PATTERN_CHARS} characters")
    try:
        return TextPattern(pattern, re2.compile(pattern, _OPTIONS))
    except re2.error as error:
        raise UnsafePatternError(_why_refused(pattern, str(error))) from None


def _why_refused(pattern: str, engine_says: str) -> str:
    try:
        parsed = sre_parse.parse(pattern)
    except re.error as error:
        return f"not a valid regular expression ({error})"
    except RecursionError:
        return "not a valid regular expression (groups nested too deep)"
    unsupported = _unsupported(list(parsed))
    if unsupported:
        return f"{unsupported} are not supported: they could take forever on a long value"
    if "too large" in engine_says or "repetition" in engine_says:
        return "the pattern is too large once its repeats are counted out; use smaller {m,n} counts"
    detail = engine_says.split("re2/", 1)[0].strip(" b'\"")
    return f"not a regular expression this engine runs ({detail})"


def _unsupported(items: list[tuple[Any, Any]]) -> str:
    for op, arg in items:
        if op in (sre.GROUPREF, sre.GROUPREF_EXISTS):
            return "back references"
        if op in (sre.ASSERT, sre.ASSERT_NOT):
            return "look-ahead and look-behind"
        if op in (sre.ATOMIC_GROUP, sre.POSSESSIVE_REPEAT):
            return "atomic groups and possessive repeats"
        children: list[Any] = []
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            children = [arg[2]]
        elif op == sre.SUBPATTERN:
            children = [arg[-1]]
        elif op == sre.BRANCH:
            children = list(arg[1])
        for child in children:
            found = _unsupported(list(child))
            if found:
                return found
    return ""
