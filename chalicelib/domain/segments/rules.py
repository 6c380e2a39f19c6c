"""Parse and compile segment rules.

A rule is a mapping; compile_rule() checks it completely -- every error names
its place, e.g. `rule.all[2].between: needs two numbers` -- and returns a
compiled predicate `Facts -> bool` with what the sweep needs to know about it.

    all: [...] / any: [...] / not: {...}
    {field: age, between: [30, 49]}     eq ne lt lte gt gte between in contains matches exists
    {field: last_purchase_date, within_last_days: 30}     more_than_days_ago
    {viewed: "/pricing*", at_least: 3, within_days: 7}    glob: * and ? only
    {did: newsletter_signup, within_days: 30}
    {score: main, gte: 50}     {grade: [A1, A2, B1]} or {grade: [A, B]}     {segment: other}
    {customer: new | existing | one_time | repeat}
    {bought: COFFEE-200, within_days: 90}     {bought: "*"}
    {replenishment_due: COFFEE-200}     {upgrade_candidate: "*"}     {option_candidate: "*"}
    {rfm: [champions, loyal]}

Path patterns are globs (`*`, `?`) with a matcher that cannot backtrack
catastrophically; `matches` takes a regular expression whose shape is
checked before it is ever run (see patterns.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ..commerce import RFM_GROUP_NAMES, Catalogue, replenishment_due_on
from ..fields import Kind
from .compare import (
    COMPARISONS,
    FOREVER_DAYS,
    Predicate,
    RuleError,
    comparison,
    every,
    field_kind,
    field_reader,
    one_op,
    only,
    score_test,
    some,
    whole,
)
from .facts import Facts
from .fast import fast_rule
from .patterns import Glob

__all__ = ["Compiled", "Glob", "Predicate", "RuleError", "compile_rule", "field_kind", "parse_rule"]

_GRADES = frozenset(f"{p}{e}" for p in "ABCD" for e in "1234") | frozenset("ABCD")
_CUSTOMER = {
    "new": lambda n: n == 0,
    "existing": lambda n: n >= 1,
    "one_time": lambda n: n == 1,
    "repeat": lambda n: n >= 2,
}
_KEYS = (
    "all",
    "any",
    "not",
    "field",
    "viewed",
    "did",
    "score",
    "grade",
    "segment",
    "customer",
    "bought",
    "replenishment_due",
    "upgrade_candidate",
    "option_candidate",
    "rfm",
)
MAX_DEPTH = 12
MAX_NODES = 200


@dataclass
class Compiled:
    """A checked rule and what can make its answer change as time passes.

    `predicate` is the reference reading of the rule, built part by part as the rule is
    checked; `fast` answers the same, built from the checked rule for the hot path
    (see fast.py).  Evaluation uses `fast`; tests hold it to `predicate`."""

    predicate: Predicate
    fast: Predicate = field(default=lambda facts: False)
    segments: set[str] = field(default_factory=set)  # other segments it names
    windows: set[int] = field(default_factory=set)  # day windows over visits, events, purchases
    date_windows: set[tuple[str, int]] = field(default_factory=set)  # (date field, days)
    score_thresholds: dict[str, set[float]] = field(default_factory=dict)
    uses_history: bool = False  # page views or events (read from the timeline)
    uses_catalogue_cycles: bool = False
    uses_rfm: bool = False

    def __call__(self, facts: Facts) -> bool:
        return self.predicate(facts)


def compile_rule(
    node: Any,
    where: str = "rule",
    known_segments: frozenset[str] | None = None,
    scores: frozenset[str] | None = None,
    catalogue: Catalogue | None = None,
) -> Compiled:
    """known_segments / scores / catalogue: what names may be referred to (None: anything)."""
    parser = _Parser(known_segments, scores, catalogue)
    predicate = parser.node(node, where, 0)
    parser.out.predicate = predicate
    parser.out.fast = fast_rule(node, catalogue)
    return parser.out


def parse_rule(node: Any, where: str = "rule", known_segments: frozenset[str] | None = None) -> Predicate:
    return compile_rule(node, where, known_segments).predicate


class _Parser:
    def __init__(
        self,
        known_segments: frozenset[str] | None,
        scores: frozenset[str] | None,
        catalogue: Catalogue | None,
    ) -> None:
        self.known_segments = known_segments
        self.scores = scores
        self.catalogue = catalogue
        self.count = 0
        self.out = Compiled(lambda facts: False)

    def node(self, node: Any, where: str, depth: int) -> Predicate:
        self.count += 1
        if self.count > MAX_NODES:
            raise RuleError(where, f"a rule may have at most {MAX_NODES} parts")
        if depth > MAX_DEPTH:
            raise RuleError(where, f"rules nest at most {MAX_DEPTH} deep")
        if not isinstance(node, Mapping) or not node:
            raise RuleError(where, "expected a mapping such as {field: age, gte: 20} or {all: [...]}")
        for key in _KEYS:
            if key in node:
                build: Callable[[Mapping[str, Any], str, int], Predicate] = getattr(self, f"_{key}")
                return build(node, where, depth)
        raise RuleError(where, f"expected one of {', '.join(_KEYS)}; got {', '.join(map(str, node))}")

    def _children(self, node: Mapping[str, Any], key: str, where: str, depth: int) -> list[Predicate]:
        only(node, {key}, where)
        items = node[key]
        if not isinstance(items, list) or not items:
            raise RuleError(f"{where}.{key}", "expected a non-empty list of rules")
        return [self.node(item, f"{where}.{key}[{i}]", depth + 1) for i, item in enumerate(items)]

    def _all(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        return every(self._children(node, "all", where, depth))

    def _any(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        return some(self._children(node, "any", where, depth))

    def _not(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        only(node, {"not"}, where)
        inner = self.node(node["not"], f"{where}.not", depth + 1)
        return lambda facts: not inner(facts)

    def _field(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        name = node["field"]
        if not isinstance(name, str):
            raise RuleError(f"{where}.field", "expected a field name")
        try:
            kind = field_kind(name)
        except KeyError as error:
            raise RuleError(f"{where}.field", str(error.args[0])) from None
        op = one_op(node, {"field"}, COMPARISONS, where)
        if op in ("within_last_days", "more_than_days_ago") and isinstance(node[op], int):
            self.out.date_windows.add((name, node[op]))
        return comparison(field_reader(name), kind, op, node[op], f"{where}.{op}")

    def _days(self, node: Mapping[str, Any], where: str) -> int:
        days = whole(node.get("within_days", FOREVER_DAYS), f"{where}.within_days", 1, FOREVER_DAYS)
        if days < FOREVER_DAYS:
            self.out.windows.add(days)
        return days

    def _viewed(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        only(node, {"viewed", "at_least", "within_days"}, where)
        pattern = _glob(node["viewed"], f"{where}.viewed")
        times = whole(node.get("at_least", 1), f"{where}.at_least", 1, 10_000)
        days = self._days(node, where)
        self.out.uses_history = True

        span = days * 86400.0

        def viewed(facts: Facts) -> bool:
            since = facts.now_ts - span
            return sum(1 for v in facts.visits if v.ts >= since and pattern.match(v.path)) >= times

        return viewed

    def _did(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        only(node, {"did", "within_days"}, where)
        name = node["did"]
        if not isinstance(name, str) or not name:
            raise RuleError(f"{where}.did", "expected an event name")
        days = self._days(node, where)
        self.out.uses_history = True

        span = timedelta(days=days)

        def did(facts: Facts) -> bool:
            at = facts.events.get(name)
            return at is not None and at >= facts.now - span

        return did

    def _score(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        name = node["score"]
        if not isinstance(name, str) or not name:
            raise RuleError(f"{where}.score", "expected a score name")
        if self.scores is not None and name not in self.scores:
            known = ", ".join(sorted(self.scores)) or "none defined"
            raise RuleError(f"{where}.score", f"no score named {name!r} (scores: {known})")
        op = one_op(node, {"score"}, ("eq", "ne", "lt", "lte", "gt", "gte", "between"), where)
        arg = node[op]
        for value in arg if isinstance(arg, list) else [arg]:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.out.score_thresholds.setdefault(name, set()).add(float(value))
        comparison(
            lambda facts: facts.scores.get(name, 0.0), Kind.MONEY, op, arg, f"{where}.{op}"
        )  # checks arg
        return score_test(name, op, arg)

    def _grade(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        only(node, {"grade"}, where)
        grades = node["grade"] if isinstance(node["grade"], list) else [node["grade"]]
        bad = [g for g in grades if g not in _GRADES]
        if bad or not grades:
            raise RuleError(f"{where}.grade", f"expected grades A1..D4 or profiles A..D, got {bad or grades}")
        wanted = frozenset(grades)
        return lambda facts: facts.grade in wanted or facts.grade[:1] in wanted

    def _segment(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        only(node, {"segment"}, where)
        name = node["segment"]
        if not isinstance(name, str) or (self.known_segments is not None and name not in self.known_segments):
            raise RuleError(f"{where}.segment", f"no segment named {name!r}")
        self.out.segments.add(name)
        return lambda facts: name in facts.segments

    def _customer(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        only(node, {"customer"}, where)
        test = _CUSTOMER.get(node["customer"]) if isinstance(node["customer"], str) else None
        if test is None:
            raise RuleError(f"{where}.customer", f"expected one of {', '.join(_CUSTOMER)}")
        return lambda facts: test(facts.orders)

    def _bought(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        only(node, {"bought", "within_days"}, where)
        skus = self._skus(node["bought"], f"{where}.bought")
        days = self._days(node, where)

        span = timedelta(days=days)

        def bought(facts: Facts) -> bool:
            since = facts.today - span
            return any(day >= since for sku, day in facts.products.items() if skus is None or sku in skus)

        return bought

    def _replenishment_due(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        only(node, {"replenishment_due"}, where)
        skus = self._skus(node["replenishment_due"], f"{where}.replenishment_due", needs_cycle=True)
        catalogue = self.catalogue or {}
        self.out.uses_catalogue_cycles = True

        def due(facts: Facts) -> bool:
            for sku, day in facts.products.items():
                product = catalogue.get(sku)
                if product is None or (skus is not None and sku not in skus):
                    continue
                when = replenishment_due_on(product, day)
                if when is not None and when <= facts.today:
                    return True
            return False

        return due

    def _upgrade_candidate(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        return self._next_product(node, where, "upgrade_candidate", lambda p: p.upgrades)

    def _option_candidate(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        return self._next_product(node, where, "option_candidate", lambda p: p.options)

    def _next_product(
        self, node: Mapping[str, Any], where: str, key: str, follow: Callable[[Any], tuple[str, ...]]
    ) -> Predicate:
        """Bought a product that has upgrades (options) and none of them yet."""
        only(node, {key}, where)
        skus = self._skus(node[key], f"{where}.{key}")
        catalogue = self.catalogue or {}

        def candidate(facts: Facts) -> bool:
            for sku in facts.products:
                product = catalogue.get(sku)
                if product is None or (skus is not None and sku not in skus):
                    continue
                following = follow(product)
                if following and not any(s in facts.products for s in following):
                    return True
            return False

        return candidate

    def _rfm(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        only(node, {"rfm"}, where)
        groups = node["rfm"] if isinstance(node["rfm"], list) else [node["rfm"]]
        bad = [g for g in groups if g not in RFM_GROUP_NAMES]
        if bad or not groups:
            raise RuleError(f"{where}.rfm", f"expected groups among {', '.join(sorted(RFM_GROUP_NAMES))}")
        wanted = frozenset(groups)
        self.out.uses_rfm = True
        return lambda facts: facts.rfm_group in wanted

    def _skus(self, value: Any, where: str, needs_cycle: bool = False) -> frozenset[str] | None:
        """None stands for "*" (any product)."""
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) and v for v in values):
            raise RuleError(where, 'expected a product code (sku), a list of them, or "*"')
        if "*" in values:
            return None
        if self.catalogue is not None:
            unknown = [v for v in values if v not in self.catalogue]
            if unknown:
                raise RuleError(where, f"not in the catalogue: {', '.join(unknown)}")
            if needs_cycle:
                cycleless = [v for v in values if not self.catalogue[v].cycle_days]
                if cycleless:
                    raise RuleError(where, f"no cycle_days in the catalogue for {', '.join(cycleless)}")
        return frozenset(values)


def _glob(value: Any, where: str) -> Glob:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise RuleError(where, "expected a path pattern such as /pricing* (1-200 characters)")
    return Glob(value)
