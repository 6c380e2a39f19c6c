"""The adversarial corpus for `matches` patterns: shapes that make backtracking engines
stall, and the values that stall them.  The tests run every pair (each must answer); the
bench times the worst pair (target: 5 ms on a 1,000-character value)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from chalicelib.domain.limits import PATTERN_TEXT_CHARS
from chalicelib.domain.segments.patterns import TextPattern, UnsafePatternError, safe_regex

# Exponential (nested or overlapping repeats), polynomial (repeats in a row), and the
# bounded-repeat and alternation forms a naive guard lets through.
HOSTILE_PATTERNS = (
    "(a+)+$",
    "(a*)*b",
    "(a|a)*x",
    "(a|aa)+$",
    "(a|a){1,100}x",
    "(.*a){20}",
    ".*.*.*x",
    "[a-z]+x",
    "(\\w+\\s?)*$",
    "^(([a-z])+.)+[A-Z]([a-z])+$",
    "(x+x+)+y",
    "(a{1,10}){1,10}$",
    "\\d+\\d+\\d+\\d+z",
    "(ab|a)*c",
    "((a+)+)+(b+)+$",
)


def hostile_values(length: int = PATTERN_TEXT_CHARS) -> Iterator[str]:
    """Near misses: long runs a pattern almost matches, then a character that spoils it."""
    for unit in ("a", "x", "ab", "1", "a ", "aA"):
        body = (unit * length)[: length - 1]
        yield body + "!"
        yield body + "\u3042"  # a non-ASCII last character: the UTF-8 path
    yield "a" * (length // 2) + "b" * (length - length // 2)


def compiled_corpus() -> list[TextPattern]:
    accepted = []
    for source in HOSTILE_PATTERNS:
        try:
            accepted.append(safe_regex(source))
        except UnsafePatternError:
            continue
    return accepted


def worst_search_ms() -> tuple[float, float]:
    """(slowest single search over the corpus, the same values through a literal pattern), in ms."""
    values = list(hostile_values())
    floor_pattern = safe_regex("zzz")

    def slowest(patterns: list[TextPattern]) -> float:
        worst = 0.0
        for pattern in patterns:
            for value in values:
                best = min(_timed(pattern, value) for _ in range(5))
                worst = max(worst, best)
        return worst * 1000

    return slowest(compiled_corpus()), slowest([floor_pattern])


def _timed(pattern: TextPattern, value: str) -> float:
    started = time.perf_counter()
    pattern.found_in(value)
    return time.perf_counter() - started
