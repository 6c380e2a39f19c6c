"""Definition files: every issue named by file, line and field; nothing half-applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.domain.definitions.compile import DefinitionsRejectedError, compile_set
from chalicelib.domain.definitions.source import MAX_BYTES, SourceError, load

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config"


def issues(**files: str) -> list[tuple[str, int | None, str, str]]:
    with pytest.raises(DefinitionsRejectedError) as raised:
        compile_set({kind: load(text, f"{kind}.yaml") for kind, text in files.items()})
    return [(i.file, i.line, i.field, i.message) for i in raised.value.issues]


def test_the_shipped_examples_compile_in_dependency_order():
    documents = {
        k: load((EXAMPLES / f"{k}.yaml").read_bytes(), f"{k}.yaml")
        for k in ("catalogue", "scoring", "segments")
    }
    definitions = compile_set(documents)
    names = [s.name for s in definitions.segments]
    assert names.index("hot_and_mailable") > names.index("hot_leads")
    assert names.index("hot_and_mailable") > names.index("mailable")
    assert definitions.engagement == "interest" and definitions.sales_alerts == ("sales@example.com",)
    assert definitions.catalogue["TEA-100"].cycle_days == 30


def test_lines_point_at_the_field_even_inside_flow_mappings():
    text = "segments:\n  - name: a\n    rule:\n      all:\n        - {field: age, gte: 3}\n        - field: company\n          eq: 7\n"
    assert issues(segments=text) == [
        ("segments.yaml", 7, "segments[0].rule.all[1].eq", "expected text, got 7")
    ]


def test_unknown_fields_wrong_types_and_unknown_names_are_all_reported():
    found = issues(
        catalogue="products:\n  - {sku: TEA, cycle_days: 0}\n  - {sku: POT, upgrades: [NOPE]}\n",
        scoring="scores:\n  - name: main\n    bands: [30, 20, 10]\n    rules: []\nengagement: other\n",
        segments="segments:\n  - name: x\n    rule: {bought: GHOST}\n  - name: x\n    rule: {field: age, gte: 1}\n",
    )
    fields = {(file, line, field) for file, line, field, _ in found}
    assert ("catalogue.yaml", 2, "products[0].cycle_days") in fields
    assert ("catalogue.yaml", 3, "products[1].upgrades") in fields
    assert ("scoring.yaml", 3, "scores[0].bands") in fields
    assert ("scoring.yaml", 5, "engagement") in fields
    assert ("segments.yaml", 3, "segments[0].rule.bought") in fields
    assert ("segments.yaml", 4, "segments[1].name") in fields


def test_cycles_between_segments_are_named():
    text = "segments:\n  - {name: a, rule: {segment: b}}\n  - {name: b, rule: {segment: c}}\n  - {name: c, rule: {segment: a}}\n"
    [(_, line, field, message)] = issues(segments=text)
    assert (line, field) == (2, "segments[0].rule")
    assert message == "segments refer to each other in a cycle: a -> b -> c -> a"


def test_a_regex_the_linear_engine_cannot_run_is_refused_before_it_runs():
    text = 'segments:\n  - name: s\n    rule: {field: company, matches: "^(?=acme)\\\\w+"}\n'
    [(_, line, field, message)] = issues(segments=text)
    assert (line, field) == (3, "segments[0].rule.matches") and "look-ahead" in message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (b"a: 1\nb: [1", "line 2"),
        (b"a: &x [1]\nb: *x\n", "anchors and aliases"),
        (b"a: 1\na: 2\n", "appears twice"),
        (b"", "empty"),
        (b"\xff\xfe", "not UTF-8"),
        (b"x: " + b"a" * MAX_BYTES, "larger than"),
    ],
)
def test_unreadable_files_say_why(text, words):
    with pytest.raises(SourceError) as raised:
        load(text, "segments.yaml")
    assert words in str(raised.value)


def test_json_is_accepted_with_lines_too():
    document = load(
        b'{\n  "segments": [\n    {"name": "a", "rule": {"field": "nope", "eq": "x"}}\n  ]\n}\n',
        "segments.json",
    )
    with pytest.raises(DefinitionsRejectedError) as raised:
        compile_set({"segments": document})
    assert raised.value.issues[0].line == 3
