"""`matches` patterns: every accepted pattern answers in linear time, and answers as `re` would."""

from __future__ import annotations

import multiprocessing
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bench.patterns import HOSTILE_PATTERNS, hostile_values
from chalicelib.domain.limits import PATTERN_CHARS, PATTERN_TEXT_CHARS
from chalicelib.domain.segments.patterns import TextPattern, UnsafePatternError, safe_regex

# Patterns built from the pieces that make backtracking engines stall: repeats of repeats,
# alternatives that overlap, bounded repeats of both, several open-ended repeats in a row.
_atoms = st.sampled_from(["a", "b", "x", ".", "[ab]", "[a-z]", "\\w", "\\d", "\\s", " ", "A"])
_repeats = st.sampled_from(["", "*", "+", "?", "*?", "+?", "{2}", "{1,3}", "{0,12}", "{1,100}"])


def _pieces(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    group = st.builds(lambda body, repeat: f"({body}){repeat}", inner, _repeats)
    either = st.builds(lambda left, right, repeat: f"(?:{left}|{right}){repeat}", inner, inner, _repeats)
    return st.one_of(group, either, st.lists(inner, min_size=2, max_size=4).map("".join))


_patterns = st.recursive(
    st.builds(lambda atom, repeat: atom + repeat, _atoms, _repeats), _pieces, max_leaves=6
).map(lambda body: body[:PATTERN_CHARS])
_anchored = st.builds(
    lambda start, body, end: start + body + end,
    st.sampled_from(["", "^"]),
    _patterns,
    st.sampled_from(["", "$", "x", "b$"]),
)


def _search(pattern: str, text: str) -> bool:
    return re.search(pattern, text, re.IGNORECASE) is not None


class Reference:
    """Python's backtracking `re`, in a worker process: on some of these patterns it takes years
    even on a dozen characters (the very reason for RE2), so a late answer is no answer."""

    def __init__(self) -> None:
        self._pool: Any = None

    def search(self, pattern: str, text: str) -> bool | None:
        if self._pool is None:
            self._pool = multiprocessing.get_context("fork").Pool(1)
        try:
            found: bool = self._pool.apply_async(_search, (pattern, text)).get(timeout=2)
        except multiprocessing.TimeoutError:
            self._pool.terminate()  # stuck backtracking: start a fresh worker
            self._pool = None
            return None
        return found

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()


@pytest.fixture(scope="module")
def reference() -> Iterator[Reference]:
    found = Reference()
    yield found
    found.close()


@settings(max_examples=300, deadline=None)
@given(_anchored, st.text(alphabet="abxA 1", max_size=12))
def test_an_accepted_pattern_answers_as_a_backtracking_engine_would(reference, pattern, text):
    compiled = _accepted(pattern)
    if compiled is None:
        return
    expected = reference.search(pattern, text)
    assume(expected is not None)  # the reference never answered: nothing to compare with
    assert compiled.found_in(text) is expected, (pattern, text)


@settings(max_examples=150, deadline=None)
@given(_anchored, st.sampled_from(list(hostile_values())))
def test_no_accepted_pattern_stalls_on_a_long_near_miss(pattern, value):
    """A backtracking engine takes seconds to years on most of these pairs; this suite's
    timeout is the hang guard, and `make bench` prints the worst time (target 5 ms)."""
    compiled = _accepted(pattern)
    if compiled is None:
        return
    assert compiled.found_in(value) in (True, False)
    assert compiled.found_in(value + "x") or not compiled.found_in(value)  # a longer text keeps a match


def _accepted(pattern: str) -> TextPattern | None:
    """The pattern compiled; this grammar has no back references or look-arounds, so the one
    refusal it can meet is a program too large once nested counts multiply ({1,100} of {0,12})."""
    try:
        return safe_regex(pattern)
    except UnsafePatternError as refused:
        assert "too large once its repeats are counted out" in str(refused), pattern
        assert re.search(r"\{\d+,?\d*\}", pattern), pattern
        return None


def test_the_patterns_a_regex_guard_used_to_let_through_answer_on_1000_characters():
    # Python's own `re` takes minutes to years on these pairs (the last one on 30 characters).
    expected = {
        "(a|a){1,100}x": lambda value: False,  # no value has an x right after an a
        ".*.*.*x": lambda value: "x" in value.lower(),
        "(a+)+$": lambda value: False,  # every value ends in something else
        "(x+x+)+y": lambda value: False,
        "(\\w+\\s?)*$": lambda value: True,  # the empty match at the end
    }
    for source, answer in expected.items():
        pattern = safe_regex(source)
        for value in hostile_values():
            assert len(value) == PATTERN_TEXT_CHARS
            assert pattern.found_in(value) is answer(value), (source, value[:4])
    assert safe_regex("(a|a){1,100}x").found_in("a" * 999 + "x")
    assert not safe_regex(".*.*.*x").found_in("a" * 1000 + "x"), "only the first 1,000 characters are read"


def test_every_pattern_of_the_bench_corpus_is_accepted():
    assert [safe_regex(source).source for source in HOSTILE_PATTERNS] == list(HOSTILE_PATTERNS)


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("(a)\\1", "back references are not supported"),
        ("(?P<w>a)(?P=w)", "back references are not supported"),
        ("acme(?=corp)", "look-ahead and look-behind are not supported"),
        ("(?<!x)acme", "look-ahead and look-behind are not supported"),
        ("a++", "possessive repeats are not supported"),
        ("((a{100}){100}){100}", "too large once its repeats are counted out"),
        ("[a-", "not a valid regular expression"),
        ("", "1 to 200 characters"),
        ("a" * (PATTERN_CHARS + 1), "1 to 200 characters"),
    ],
)
def test_a_refused_pattern_says_why(source, words):
    with pytest.raises(UnsafePatternError) as refused:
        safe_regex(source)
    assert words in str(refused.value)


def test_case_and_japanese_text():
    assert safe_regex("^ACME").found_in("acme corp")
    assert safe_regex("株式会社.+商事").found_in("株式会社 山田商事")
    assert not safe_regex("^商事").found_in("株式会社 山田商事")
