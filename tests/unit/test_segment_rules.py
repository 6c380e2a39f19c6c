from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.commerce import RFM_GROUP_NAMES, Product
from chalicelib.domain.segments.facts import Facts, Visit
from chalicelib.domain.segments.rules import RuleError, compile_rule, parse_rule
from tests.unit.rule_reference import CATALOGUE as REFERENCE_CATALOGUE
from tests.unit.rule_reference import evaluate

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def facts(**contact):
    return Facts(contact={"attrs": {}, **contact}, now=NOW)


def test_attributes_numbers_dates_and_nesting():
    rule = parse_rule(
        {
            "all": [
                {"field": "age", "between": [30, 49]},
                {"any": [{"field": "gender", "eq": "female"}, {"field": "company", "contains": "acme"}]},
                {"not": {"field": "status", "in": ["unsubscribed", "suppressed"]}},
                {"field": "last_purchase_date", "within_last_days": 30},
            ]
        }
    )
    assert rule(facts(age=31, gender="female", status="subscribed", last_purchase_date="2026-11-01"))
    assert not rule(facts(age=31, gender="female", status="unsubscribed", last_purchase_date="2026-11-01"))
    assert not rule(facts(age=31, company="ACME Inc", status="pending", last_purchase_date="2026-09-01"))
    assert rule(facts(age=49, company="ACME Inc", last_purchase_date="2026-11-23"))


def test_behaviour_scores_grades_and_other_segments():
    visits = [Visit("/pricing", NOW - timedelta(days=d)) for d in (1, 2, 6, 9)] + [Visit("/blog", NOW)]
    context = Facts(
        contact={"attrs": {}},
        now=NOW,
        scores={"main": 62.5},
        grade="A2",
        visits=visits,
        events={"webinar": NOW - timedelta(days=3)},
        segments=frozenset({"vip"}),
    )
    assert parse_rule({"viewed": "/pricing*", "at_least": 3, "within_days": 7})(context)
    assert not parse_rule({"viewed": "/pricing*", "at_least": 4, "within_days": 7})(context)
    assert parse_rule({"did": "webinar", "within_days": 7})(context)
    assert not parse_rule({"did": "webinar", "within_days": 2})(context)
    assert parse_rule({"score": "main", "gte": 60})(context)
    assert parse_rule({"grade": ["A1", "A2"]})(context)
    assert parse_rule({"segment": "vip"})(context)


@pytest.mark.parametrize(
    ("rule", "where", "words"),
    [
        (
            {"all": [{"field": "age", "gte": 20}, {"field": "shoe_size", "gt": 3}]},
            "rule.all[1].field",
            "unknown field",
        ),
        ({"field": "age", "between": [50, 20]}, "rule.between", "low end"),
        ({"field": "age", "gte": "twenty"}, "rule.gte", "expected a number"),
        ({"field": "name", "within_last_days": 3}, "rule.within_last_days", "date fields only"),
        ({"any": []}, "rule.any", "non-empty list"),
        ({"field": "age", "gte": 1, "lte": 5}, "rule", "exactly one of"),
        ({"viewed": "/p*", "at_least": 0}, "rule.at_least", "whole number"),
        ({"grade": "E9"}, "rule.grade", "A1..D4"),
        ({"segment": "nope"}, "rule.segment", "no segment named"),
        ({"colour": "red"}, "rule", "expected one of"),
        ("age > 3", "rule", "expected a mapping"),
    ],
)
def test_errors_name_the_place(rule, where, words):
    with pytest.raises(RuleError) as error:
        parse_rule(rule, known_segments=frozenset({"vip"}))
    assert error.value.where == where and words in str(error.value)


def test_globs_cannot_backtrack_forever():
    rule = parse_rule({"viewed": "*a*a*a*a*a*a*a*a*a*a*b"})
    started = datetime.now()
    assert not rule(Facts(contact={}, now=NOW, visits=[Visit("a" * 5000, NOW)]))
    assert (datetime.now() - started).total_seconds() < 5


def test_a_compiled_rule_knows_the_segments_it_names_for_ordering_and_cycle_checks():
    assert compile_rule({"all": [{"segment": "a"}, {"not": {"segment": "b"}}]}).segments == {"a", "b"}


# --- the compiled rules agree with the plain reference interpreter ------------------------------
_days_ago = st.integers(min_value=0, max_value=60).map(lambda d: (NOW - timedelta(days=d)).date().isoformat())
_contacts = st.fixed_dictionaries(
    {},
    optional={
        "age": st.integers(min_value=0, max_value=100),
        "total_spent": st.decimals(min_value=0, max_value=1000, places=2),
        "gender": st.sampled_from(["male", "female", "Other", ""]),
        "company": st.sampled_from(["Acme", "acme corp", "Beta", ""]),
        "last_purchase_date": _days_ago,
    },
).map(lambda c: {"attrs": {"tier": "gold"}, **c})
_leaf = st.one_of(
    st.builds(
        lambda op, n: {"field": "age", op: n},
        st.sampled_from(["eq", "ne", "lt", "lte", "gt", "gte"]),
        st.integers(min_value=0, max_value=100),
    ),
    st.builds(
        lambda a, b: {"field": "total_spent", "between": [min(a, b), max(a, b)]},
        st.integers(min_value=0, max_value=1000),
        st.integers(min_value=0, max_value=1000),
    ),
    st.builds(
        lambda op, v: {"field": "gender", op: v},
        st.sampled_from(["eq", "ne", "contains"]),
        st.sampled_from(["male", "female", "fe", "other"]),
    ),
    st.builds(
        lambda v: {"field": "company", "in": v}, st.lists(st.sampled_from(["acme", "beta"]), min_size=1)
    ),
    st.builds(
        lambda f, e: {"field": f, "exists": e},
        st.sampled_from(["company", "age", "attr.tier", "attr.x"]),
        st.booleans(),
    ),
    st.builds(
        lambda op, d: {"field": "last_purchase_date", op: d},
        st.sampled_from(["within_last_days", "more_than_days_ago"]),
        st.integers(min_value=0, max_value=60),
    ),
    st.builds(
        lambda p, n, d: {"viewed": p, "at_least": n, "within_days": d},
        st.sampled_from(["/pricing*", "/p?icing", "*", "/blog/*"]),
        st.integers(min_value=1, max_value=4),
        st.integers(min_value=1, max_value=30),
    ),
    st.builds(
        lambda op, n: {"score": "main", op: n},
        st.sampled_from(["gt", "lte"]),
        st.integers(min_value=0, max_value=100),
    ),
)
_skus = st.sampled_from(["TEA", "BIGTEA", "POT", "*"])
_commerce = st.one_of(
    st.builds(lambda c: {"customer": c}, st.sampled_from(["new", "existing", "one_time", "repeat"])),
    st.builds(lambda s, d: {"bought": s, "within_days": d}, _skus, st.integers(min_value=1, max_value=120)),
    st.builds(lambda s: {"replenishment_due": s}, st.sampled_from(["TEA", "BIGTEA", "*"])),
    st.builds(lambda s: {"upgrade_candidate": s}, _skus),
    st.builds(lambda s: {"option_candidate": s}, _skus),
    st.builds(
        lambda g: {"rfm": g}, st.lists(st.sampled_from(sorted(RFM_GROUP_NAMES)), min_size=1, max_size=3)
    ),
    st.builds(
        lambda g: {"grade": g}, st.lists(st.sampled_from(["A", "B2", "C", "D4"]), min_size=1, max_size=2)
    ),
    st.builds(
        lambda p: {"field": "company", "matches": p}, st.sampled_from(["^acme", "corp$", "b.t", "x?a"])
    ),
)


def _nested(inner: st.SearchStrategy) -> st.SearchStrategy:
    """all / any / not around smaller rules."""
    parts = st.lists(inner, min_size=1, max_size=3)
    return st.one_of(
        parts.map(lambda rs: {"all": rs}),
        parts.map(lambda rs: {"any": rs}),
        inner.map(lambda r: {"not": r}),
    )


_rules = st.recursive(st.one_of(_leaf, _commerce), _nested, max_leaves=8)
_visits = st.lists(
    st.builds(
        lambda p, d: Visit(p, NOW - timedelta(days=d)),
        st.sampled_from(["/pricing", "/pricing/pro", "/blog/a", "/"]),
        st.integers(min_value=0, max_value=40),
    ),
    max_size=8,
)


_products = st.dictionaries(
    st.sampled_from(["TEA", "BIGTEA", "POT"]),
    st.integers(min_value=0, max_value=200).map(lambda d: (NOW - timedelta(days=d)).date()),
    max_size=3,
)
_CATALOGUE = {
    sku: Product(sku, sku, spec["cycle"], tuple(spec["upgrades"]), tuple(spec["options"]))
    for sku, spec in REFERENCE_CATALOGUE.items()
}


@settings(max_examples=500, deadline=None)
@given(
    rule=_rules,
    contact=_contacts,
    visits=_visits,
    score=st.floats(min_value=0, max_value=100),
    products=_products,
    rfm=st.sampled_from(["", "555", "511", "151", "325", "214", "145", "433"]),
    grade=st.sampled_from(["A1", "B2", "C3", "D4"]),
)
def test_compiled_rules_agree_with_the_reference(rule, contact, visits, score, products, rfm, grade):
    context = Facts(
        contact=contact,
        now=NOW,
        visits=visits,
        scores={"main": score},
        products=products,
        rfm=rfm,
        grade=grade,
    )
    compiled = compile_rule(rule, catalogue=_CATALOGUE)
    assert compiled.predicate(context) == evaluate(rule, context)
    assert compiled.fast(context) == evaluate(rule, context), "the fast form evaluation uses agrees too"
