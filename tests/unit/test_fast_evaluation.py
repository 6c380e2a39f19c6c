"""The compiled evaluation answers exactly what the reference interpreter answers.

`evaluate` (a definition set compiled once, what production runs) against `interpret`
(the reference, read straight off the definitions): grade, segments, RFM, every score
to the bit and the next check, for many generated people at many moments, under the
shipped examples plus rules that use every operator on awkward values.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.commerce import rfm_bounds
from chalicelib.domain.definitions.compile import Definitions, compile_set
from chalicelib.domain.definitions.source import load
from chalicelib.domain.evaluation import History, evaluate, interpret
from chalicelib.domain.segments.facts import Facts, Visit
from chalicelib.domain.segments.rules import compile_rule

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config"
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
TRICKY = """
  - {name: ages, rule: {any: [{field: age, between: [20, 29.5]}, {field: age, in: [40, 41.0, 50]}]}}
  - {name: not_forty, rule: {field: age, ne: 40}}
  - {name: older, rule: {all: [{field: age, gt: 30}, {field: age, lte: 70.5}, {not: {field: age, eq: 55}}]}}
  - {name: young, rule: {field: age, lt: 25}}
  - {name: spenders, rule: {field: total_spent, gte: 1000.25}}
  - {name: counted, rule: {field: purchase_count, between: [2, 4]}}
  - {name: born_90s, rule: {field: birthday, between: ["1990-01-01", "1999-12-31"]}}
  - {name: born_late, rule: {any: [{field: birthday, gt: "2000-06-30"}, {field: birthday, lte: "1960-01-01"}]}}
  - {name: recent_buyer, rule: {field: last_purchase_date, within_last_days: 30}}
  - {name: joined_long_ago, rule: {field: created_at, more_than_days_ago: 365}}
  - {name: female, rule: {field: gender, eq: FEMALE}}
  - {name: not_acme, rule: {field: company, ne: acme}}
  - {name: tea_people, rule: {field: company, contains: tea}}
  - {name: corp, rule: {field: company, matches: "(inc|corp)\\\\.?$"}}
  - {name: languages, rule: {field: language, in: [ja, EN]}}
  - {name: has_phone, rule: {field: phone, exists: true}}
  - {name: no_age, rule: {field: age, exists: false}}
  - {name: gold, rule: {field: attr.rank, in: [gold, Platinum]}}
  - {name: no_rank, rule: {field: attr.rank, exists: false}}
  - {name: graded, rule: {any: [{grade: [A1, B]}, {field: grade, eq: c2}]}}
  - {name: blog_readers, rule: {viewed: "/blog/*", at_least: 2, within_days: 3}}
  - {name: anywhere, rule: {viewed: "*p?icing*"}}
  - {name: webinar, rule: {did: webinar, within_days: 14}}
  - {name: warm_tea, rule: {score: tea, between: [5, 15]}}
  - {name: cold, rule: {score: interest, lt: 10}}
  - {name: new_or_lapsed, rule: {any: [{customer: new}, {segment: lapsed_customers}]}}
  - {name: pot_or_coffee, rule: {bought: [TEA-POT, COFFEE-200], within_days: 60}}
  - {name: coffee_due, rule: {replenishment_due: [COFFEE-200]}}
  - {name: tea_upgrade, rule: {upgrade_candidate: TEA-100}}
  - {name: loyal_or_lost, rule: {rfm: [loyal, lost, hibernating, need_attention]}}
  - {name: deep, rule: {not: {all: [{any: [{segment: mailable}, {not: {segment: gold}}]}, {customer: existing}]}}}
"""


def tricky_definitions() -> Definitions:
    texts = {k: (EXAMPLES / f"{k}.yaml").read_text() for k in ("catalogue", "scoring", "segments")}
    texts["segments"] += TRICKY
    return compile_set({k: load(v, f"{k}.yaml") for k, v in texts.items()})


def _some(rng: random.Random, *choices: Any) -> Any:
    return rng.choice(choices)


def _day(rng: random.Random, now: datetime, most: int = 500) -> str:
    return (now - timedelta(days=rng.randint(-5, most))).date().isoformat()


def person(rng: random.Random, now: datetime) -> tuple[dict[str, Any], History]:
    """Someone with any mix of fields, types, purchases, stored scores and history."""
    contact: dict[str, Any] = {"email": "p@example.com", "contact_id": "c1"}
    optional = {
        "age": lambda: _some(rng, rng.randint(15, 80), 40, 55, 29.5, Decimal("41"), "40", True, None),
        "total_spent": lambda: _some(
            rng, Decimal(rng.randint(0, 3000)), Decimal("1000.25"), 999.5, 0, Decimal(60000)
        ),
        "purchase_count": lambda: _some(rng, 0, 1, 2, 4, 5, Decimal(3), "2", False),
        "last_purchase_date": lambda: _some(rng, _day(rng, now), _day(rng, now, 40), "2026-13-01", "", 7),
        "last_product": lambda: _some(rng, "TEA-100", "TEA-500", "COFFEE-200", "TEA-POT", "GONE", ""),
        "products": lambda: {
            sku: _day(rng, now, 200) for sku in rng.sample(["TEA-100", "TEA-500", "COFFEE-200", "TEA-POT"], 2)
        },
        "birthday": lambda: _some(rng, "1995-04-01", "1960-01-01", "2001-01-01", "1999-12-31T23:00:00", "x"),
        "created_at": lambda: _some(rng, _day(rng, now, 800), "2025-11-23T10:00:00+00:00"),
        "gender": lambda: _some(rng, "female", "Female", "male", "", None),
        "company": lambda: _some(rng, "Acme", "acme", "Teahouse Corp.", "Big Inc", "", 12),
        "language": lambda: _some(rng, "ja", "en", "EN", "de"),
        "phone": lambda: _some(rng, "090-1234", "", None),
        "status": lambda: _some(rng, "subscribed", "Subscribed", "pending", "unsubscribed"),
        "customer_status": lambda: _some(rng, "vip", "regular"),
        "attrs": lambda: _some(rng, {}, {"rank": "gold"}, {"rank": "PLATINUM"}, {"rank": ""}),
        "scores": lambda: {
            name: {
                "v": Decimal(str(round(rng.uniform(-5, 90), 4))),
                "at": _some(rng, (now - timedelta(hours=rng.uniform(-2, 900))).isoformat(), ""),
                "caps": {},
            }
            for name in rng.sample(["interest", "tea", "retired"], rng.randint(0, 3))
        },
    }
    for name, make in optional.items():
        if rng.random() < 0.7:
            contact[name] = make()
    contact.setdefault("attrs", {})
    paths = ["/", "/pricing", "/pricing/pro", "/blog/a", "/blog/b", "/products/tea", "/xpricing"]
    visits = [
        Visit(rng.choice(paths), now - timedelta(hours=rng.uniform(0, 24 * 12)))
        for _ in range(rng.randint(0, 10))
    ]
    events = {
        name: now - timedelta(days=rng.uniform(0, 40))
        for name in rng.sample(["webinar", "newsletter_signup"], rng.randint(0, 2))
    }
    return contact, History(visits, events)


def test_compiled_evaluation_agrees_with_the_reference_for_every_person_and_moment():
    defs = tricky_definitions()
    bounds = rfm_bounds([(d, 1 + d % 6, 500.0 * d) for d in range(0, 400, 3)], "test")
    rng = random.Random(16)
    entered: set[str] = set()
    stayed_out: set[str] = set()
    checks = 0
    for n in range(3000):
        now = NOW + timedelta(days=rng.randint(-40, 40), seconds=rng.randint(0, 86399))
        contact, history = person(rng, now)
        rfm = bounds if n % 4 else None
        compiled = evaluate(defs, contact, history, now, rfm)
        assert compiled == interpret(defs, contact, history, now, rfm), (contact, history, now)
        entered |= compiled.segments
        stayed_out |= {s.name for s in defs.segments} - compiled.segments
        checks += compiled.check_at is not None
    names = {s.name for s in defs.segments}
    assert entered == names and stayed_out == names, "every segment both taken and missed by someone"
    assert checks > 1000, "next checks were compared, not just absent on both sides"


def test_the_compiled_program_follows_the_definitions_it_was_built_from():
    """Compiled once per set: a new set (one segment fewer) is a new program, not a stale one."""
    contact = {"email": "p@example.com", "contact_id": "c1", "status": "subscribed", "attrs": {}}
    full = tricky_definitions()
    texts = {k: (EXAMPLES / f"{k}.yaml").read_text() for k in ("catalogue", "scoring", "segments")}
    fewer = compile_set({k: load(v, f"{k}.yaml") for k, v in texts.items()})
    assert full.program is full.program, "compiled once, kept with its set"
    assert {"mailable", "not_forty"} <= evaluate(full, contact, History(), NOW, None).segments
    assert "not_forty" not in evaluate(fewer, contact, History(), NOW, None).segments
    assert "mailable" in evaluate(fewer, contact, History(), NOW, None).segments


# --- one rule at a time, on values of every type --------------------------------------------------
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=60),
    st.floats(min_value=-5, max_value=60, allow_nan=False),
    st.decimals(min_value=-5, max_value=60, places=2),
    st.sampled_from(["", "40", "Acme", "ACME corp", "2026-11-01", "2026-02-30", "x" * 3]),
)
_numbers = st.one_of(
    st.integers(min_value=-5, max_value=60),
    st.floats(min_value=-5, max_value=60, allow_nan=False, allow_infinity=False),
    st.decimals(min_value=-5, max_value=60, places=2),
)
_rules = st.one_of(
    st.builds(
        lambda f, op, n: {"field": f, op: n},
        st.sampled_from(["age", "total_spent"]),
        st.sampled_from(["eq", "ne", "lt", "lte", "gt", "gte"]),
        _numbers,
    ),
    st.builds(
        lambda f, a, b: {"field": f, "between": [min(a, b), max(a, b)]},
        st.sampled_from(["age", "total_spent"]),
        _numbers,
        _numbers,
    ),
    st.builds(lambda ns: {"field": "age", "in": ns}, st.lists(_numbers, min_size=1, max_size=3)),
    st.builds(
        lambda f, op, v: {"field": f, op: v},
        st.sampled_from(["company", "attr.rank", "grade"]),
        st.sampled_from(["eq", "ne", "contains"]),
        st.sampled_from(["acme", "ACME corp", "", "a1"]),
    ),
    st.builds(
        lambda f, e: {"field": f, "exists": e},
        st.sampled_from(["age", "company", "attr.rank"]),
        st.booleans(),
    ),
    st.builds(
        lambda op, d: {"field": "birthday", op: d},
        st.sampled_from(["lt", "lte", "gt", "gte", "eq", "within_last_days", "more_than_days_ago"]),
        st.sampled_from(["2026-11-01", "2000-01-01"]),
    ).map(lambda r: {**r, **{k: 30 for k in r if k.endswith("days") or k.endswith("ago")}}),
)


@settings(max_examples=400, deadline=None)
@given(rule=_rules, value=_values, grade=st.sampled_from(["A1", "C2", "D4"]))
def test_fast_rules_agree_with_the_reference_on_values_of_any_type(rule, value, grade):
    name = rule["field"]
    contact: dict[str, Any] = {"attrs": {"rank": value} if name.startswith("attr.") else {}}
    if not name.startswith("attr.") and name != "grade":
        contact[name] = value
    facts = Facts(contact=contact, now=NOW, grade=grade, products={"TEA": date(2026, 11, 1)})
    compiled = compile_rule(rule)
    assert compiled.fast(facts) == compiled.predicate(facts)
