"""Segment rules compiled for speed: one flat closure per part, over values parsed once.

`compile_rule` (rules.py) checks a rule and builds the *reference* predicate, the
plain reading of the language.  Once a rule has passed that check, `fast_rule`
builds a second predicate from the same rule for the evaluation hot path: bounds
and patterns are parsed here once, customer stages and catalogue lookups are
resolved into small tables, whole numbers are compared as ints, a count of
page views stops as soon as it is reached.  Its answers are the reference's
answers for every input (tests/unit/test_fast_evaluation.py checks this over
generated rules and people); nothing written by a marketer is ever run as code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ..commerce import Catalogue
from ..days import iso_day
from ..fields import Kind
from .compare import (
    FOREVER_DAYS,
    NUMERIC,
    Predicate,
    against,
    as_number,
    every,
    field_kind,
    field_reader,
    score_test,
    some,
    within_days,
)
from .facts import Facts
from .patterns import Glob, safe_regex

_ORDERS: dict[str, Callable[[int], bool]] = {
    "new": (0).__eq__,
    "existing": (1).__le__,
    "one_time": (1).__eq__,
    "repeat": (2).__le__,
}
_EMPTY = (None, "")


def fast_rule(node: Mapping[str, Any], catalogue: Catalogue | None = None) -> Predicate:
    """The fast predicate of a rule that compile_rule() has accepted (with the same catalogue)."""
    return _Builder(catalogue or {}).node(node)


class _Builder:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def node(self, node: Mapping[str, Any]) -> Predicate:
        for key in ("all", "any", "not"):
            if key in node:
                build: Callable[[Any], Predicate] = getattr(self, f"_{key}")
                return build(node[key])
        return _leaf(node, self.catalogue)

    def _all(self, items: list[Any]) -> Predicate:
        return every([self.node(item) for item in items])

    def _any(self, items: list[Any]) -> Predicate:
        return some([self.node(item) for item in items])

    def _not(self, item: Any) -> Predicate:
        inner = self.node(item)
        return lambda facts: not inner(facts)


def _leaf(node: Mapping[str, Any], catalogue: Catalogue) -> Predicate:
    if "field" in node:
        return _field(node)
    if "viewed" in node:
        return _viewed(Glob(node["viewed"]), node.get("at_least", 1), node.get("within_days", FOREVER_DAYS))
    if "did" in node:
        return _did(node["did"], timedelta(days=node.get("within_days", FOREVER_DAYS)))
    if "score" in node:
        op = next(k for k in node if k != "score")
        return score_test(node["score"], op, node[op])
    if "grade" in node:
        wanted = frozenset(node["grade"] if isinstance(node["grade"], list) else [node["grade"]])
        return lambda facts: facts.grade in wanted or facts.grade[:1] in wanted
    if "segment" in node:
        name = node["segment"]
        return lambda facts: name in facts.segments
    if "customer" in node:
        stage = _ORDERS[node["customer"]]
        return lambda facts: stage(facts.orders)
    if "bought" in node:
        return _bought(_skus(node["bought"]), timedelta(days=node.get("within_days", FOREVER_DAYS)))
    if "replenishment_due" in node:
        skus = _skus(node["replenishment_due"])
        return _due(
            {
                sku: timedelta(days=product.cycle_days)
                for sku, product in catalogue.items()
                if product.cycle_days and (skus is None or sku in skus)
            }
        )
    for key, follow in (("upgrade_candidate", "upgrades"), ("option_candidate", "options")):
        if key in node:
            skus = _skus(node[key])
            return _candidate(
                {
                    sku: getattr(product, follow)
                    for sku, product in catalogue.items()
                    if getattr(product, follow) and (skus is None or sku in skus)
                }
            )
    wanted = frozenset(node["rfm"] if isinstance(node["rfm"], list) else [node["rfm"]])
    return lambda facts: facts.rfm_group in wanted


def _skus(value: Any) -> frozenset[str] | None:
    values = value if isinstance(value, list) else [value]
    return None if "*" in values else frozenset(values)


# --- behaviour and purchases --------------------------------------------------------------------
def _viewed(pattern: Glob, times: int, days: int) -> Predicate:
    span, match = days * 86400.0, pattern.match

    def viewed(facts: Facts) -> bool:
        since, count = facts.now_ts - span, 0
        for visit in facts.visits:
            if visit.ts >= since and match(visit.path):
                count += 1
                if count >= times:
                    return True
        return False

    return viewed


def _did(name: str, span: timedelta) -> Predicate:
    def did(facts: Facts) -> bool:
        at = facts.events.get(name)
        return at is not None and at >= facts.now - span

    return did


def _bought(skus: frozenset[str] | None, span: timedelta) -> Predicate:
    def bought(facts: Facts) -> bool:
        since, products = facts.today - span, facts.products
        for sku in products if skus is None else skus:
            day = products.get(sku)
            if day is not None and day >= since:
                return True
        return False

    return bought


def _due(cycles: dict[str, timedelta]) -> Predicate:
    """cycles: sku -> its consumption cycle, for the products the rule names."""

    def due(facts: Facts) -> bool:
        today = facts.today
        for sku, day in facts.products.items():
            cycle = cycles.get(sku)
            if cycle is not None and day + cycle <= today:
                return True
        return False

    return due


def _candidate(following: dict[str, tuple[str, ...]]) -> Predicate:
    """following: sku -> its upgrades (or options), for the products the rule names that have any."""

    def candidate(facts: Facts) -> bool:
        products = facts.products
        for sku in products:
            others = following.get(sku)
            if others is not None and not any(s in products for s in others):
                return True
        return False

    return candidate


# --- fields -------------------------------------------------------------------------------------
def _field(node: Mapping[str, Any]) -> Predicate:
    name: str = node["field"]
    op = next(k for k in node if k != "field")
    arg, kind = node[op], field_kind(name)
    read = field_reader(name)
    plain = _plain(name, op, arg, kind)
    if plain is not None:
        return plain
    if op == "exists":
        return lambda facts: (read(facts) not in _EMPTY) is arg
    if op in ("within_last_days", "more_than_days_ago"):
        return within_days(read, arg, op == "within_last_days")
    if kind in NUMERIC:
        return _numeric(read, op, arg)
    if op in ("lt", "lte", "gt", "gte", "between"):
        return _dates(read, op, arg)
    if op == "in":
        options = frozenset(v.lower() for v in arg)
        return lambda facts: isinstance(v := read(facts), str) and v.lower() in options
    text = arg.lower()
    if op == "contains":
        return lambda facts: isinstance(v := read(facts), str) and text in v.lower()
    if op == "matches":
        found_in = safe_regex(arg).found_in
        return lambda facts: isinstance(v := read(facts), str) and found_in(v)
    if op == "eq":
        return lambda facts: isinstance(v := read(facts), str) and v.lower() == text
    return lambda facts: not (isinstance(v := read(facts), str) and v.lower() == text)


def _plain(name: str, op: str, arg: Any, kind: Kind) -> Predicate | None:
    """The commonest tests of a contact field, reading it in place (no reader call)."""
    if name.startswith("attr.") or name == "grade" or kind in NUMERIC or kind is Kind.DATE:
        return None
    if op == "exists":
        return lambda facts: (facts.contact.get(name) not in _EMPTY) is arg
    if op == "eq":
        text = arg.lower()
        return lambda facts: isinstance(v := facts.contact.get(name), str) and v.lower() == text
    if op == "in":
        options = frozenset(v.lower() for v in arg)
        return lambda facts: isinstance(v := facts.contact.get(name), str) and v.lower() in options
    return None


def _dates(read: Callable[[Facts], Any], op: str, arg: Any) -> Predicate:
    if op == "between":
        first, last = date.fromisoformat(str(arg[0])), date.fromisoformat(str(arg[1]))
        return lambda facts: (d := iso_day(read(facts))) is not None and first <= d <= last
    test = against(date.fromisoformat(str(arg)), op)
    return lambda facts: (d := iso_day(read(facts))) is not None and bool(test(d))


def _numeric(read: Callable[[Facts], Any], op: str, arg: Any) -> Predicate:
    """A whole number (the usual stored value) is compared with whole-number bounds as ints;
    anything else goes the reference's way, through Decimal."""
    if op == "between":
        low, high = _decimal(arg[0]), _decimal(arg[1])
        int_low, int_high = _whole(low), _whole(high)

        def between(facts: Facts) -> bool:
            value = read(facts)
            if value.__class__ is int:
                return int_low <= value <= int_high
            v = as_number(value)
            return v is not None and low <= v <= high

        return between
    if op == "in":
        options = frozenset(_decimal(v) for v in arg)  # an int and its equal Decimal hash alike
        return lambda facts: as_number(read(facts)) in options
    bound = _decimal(arg)
    test, int_test = against(bound, op), against(_whole(bound), op)
    missing = op == "ne"  # no number: only "not equal" holds

    def compare(facts: Facts) -> bool:
        value = read(facts)
        if value.__class__ is int:
            return bool(int_test(value))
        v = as_number(value)
        return missing if v is None else bool(test(v))

    return compare


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def _whole(bound: Decimal) -> int | Decimal:
    """The bound as an int when it is one (exact against ints, and faster)."""
    return int(bound) if bound.is_finite() and bound == bound.to_integral_value() else bound
