"""Parse and compile segment rules.

A rule is a mapping; parse_rule() checks it completely -- every error names
its place, e.g. `rule.all[2].between: needs two numbers` -- and returns a
compiled predicate `Facts -> bool`.

    all: [...] / any: [...] / not: {...}
    {field: age, between: [30, 49]}           eq ne lt lte gt gte between in contains exists
    {field: last_purchase_date, within_last_days: 30}     more_than_days_ago
    {viewed: "/pricing*", at_least: 3, within_days: 7}    glob: * and ? only
    {did: newsletter_signup, within_days: 30}
    {score: main, gte: 50}     {grade: [A1, A2, B1]}     {segment: other_name}

Patterns are globs (`*`, `?`) with a matcher that cannot backtrack
catastrophically, whatever the pattern.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ..errors import BadInputError
from ..fields import FIELD_KINDS, Kind
from .facts import Facts

Predicate = Callable[[Facts], bool]

_STATUS_FIELDS = {
    "status": Kind.TEXT,
    "customer_status": Kind.TEXT,
    "source": Kind.TEXT,
    "created_at": Kind.DATE,
    "updated_at": Kind.DATE,
    "consent_at": Kind.DATE,
}
_NUMERIC = (Kind.INT, Kind.MONEY)
_COMPARISONS = (
    "eq",
    "ne",
    "lt",
    "lte",
    "gt",
    "gte",
    "between",
    "in",
    "contains",
    "exists",
    "within_last_days",
    "more_than_days_ago",
)
_GRADES = frozenset(f"{p}{e}" for p in "ABCD" for e in "1234")
MAX_DEPTH = 12
MAX_NODES = 200


class RuleError(BadInputError):
    """`where` is the path to the offending part, e.g. `rule.all[1].field`."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


def field_kind(name: str) -> Kind:
    if name.startswith("attr."):
        return Kind.TEXT
    if name in _STATUS_FIELDS:
        return _STATUS_FIELDS[name]
    if name in FIELD_KINDS and name != "consent":
        return FIELD_KINDS[name]
    known = ", ".join(sorted([*(f for f in FIELD_KINDS if f != "consent"), *_STATUS_FIELDS]))
    raise KeyError(f"unknown field '{name}' (known: {known}, or attr.<name>)")


def parse_rule(node: Any, where: str = "rule", known_segments: frozenset[str] | None = None) -> Predicate:
    parser = _Parser(known_segments)
    return parser.node(node, where, 0)


class _Parser:
    def __init__(self, known_segments: frozenset[str] | None) -> None:
        self.known_segments = known_segments
        self.count = 0
        self.segments_used: set[str] = set()

    def node(self, node: Any, where: str, depth: int) -> Predicate:
        self.count += 1
        if self.count > MAX_NODES:
            raise RuleError(where, f"a rule may have at most {MAX_NODES} parts")
        if depth > MAX_DEPTH:
            raise RuleError(where, f"rules nest at most {MAX_DEPTH} deep")
        if not isinstance(node, Mapping) or not node:
            raise RuleError(where, "expected a mapping such as {field: age, gte: 20} or {all: [...]}")
        for key, build in (
            ("all", self._all),
            ("any", self._any),
            ("not", self._not),
            ("field", self._field),
            ("viewed", self._viewed),
            ("did", self._did),
            ("score", self._score),
            ("grade", self._grade),
            ("segment", self._segment),
        ):
            if key in node:
                return build(node, where, depth)
        raise RuleError(
            where,
            f"expected one of all, any, not, field, viewed, did, score, grade, segment; "
            f"got {', '.join(map(str, node))}",
        )

    def _children(self, node: Mapping[str, Any], key: str, where: str, depth: int) -> list[Predicate]:
        _only(node, {key}, where)
        items = node[key]
        if not isinstance(items, list) or not items:
            raise RuleError(f"{where}.{key}", "expected a non-empty list of rules")
        return [self.node(item, f"{where}.{key}[{i}]", depth + 1) for i, item in enumerate(items)]

    def _all(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        parts = self._children(node, "all", where, depth)
        return lambda facts: all(p(facts) for p in parts)

    def _any(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        parts = self._children(node, "any", where, depth)
        return lambda facts: any(p(facts) for p in parts)

    def _not(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        _only(node, {"not"}, where)
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
        op = _one_op(node, {"field"}, _COMPARISONS, where)
        read = _reader(name)
        return _comparison(read, kind, op, node[op], f"{where}.{op}")

    def _viewed(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        _only(node, {"viewed", "at_least", "within_days"}, where)
        pattern = _glob(node["viewed"], f"{where}.viewed")
        times = _whole(node.get("at_least", 1), f"{where}.at_least", 1, 10_000)
        days = _whole(node.get("within_days", 3650), f"{where}.within_days", 1, 3650)

        def viewed(facts: Facts) -> bool:
            since = facts.now - timedelta(days=days)
            return sum(1 for v in facts.visits if v.at >= since and pattern.match(v.path)) >= times

        return viewed

    def _did(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        _only(node, {"did", "within_days"}, where)
        name = node["did"]
        if not isinstance(name, str) or not name:
            raise RuleError(f"{where}.did", "expected an event name")
        days = _whole(node.get("within_days", 3650), f"{where}.within_days", 1, 3650)

        def did(facts: Facts) -> bool:
            at = facts.events.get(name)
            return at is not None and at >= facts.now - timedelta(days=days)

        return did

    def _score(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        name = node["score"]
        if not isinstance(name, str) or not name:
            raise RuleError(f"{where}.score", "expected a score name")
        op = _one_op(node, {"score"}, ("eq", "ne", "lt", "lte", "gt", "gte", "between"), where)
        return _comparison(
            lambda facts: facts.scores.get(name, 0.0), Kind.MONEY, op, node[op], f"{where}.{op}"
        )

    def _grade(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        _only(node, {"grade"}, where)
        grades = node["grade"] if isinstance(node["grade"], list) else [node["grade"]]
        bad = [g for g in grades if g not in _GRADES]
        if bad or not grades:
            raise RuleError(f"{where}.grade", f"expected grades A1..D4, got {bad or grades}")
        wanted = frozenset(grades)
        return lambda facts: facts.grade in wanted

    def _segment(self, node: Mapping[str, Any], where: str, depth: int) -> Predicate:
        _only(node, {"segment"}, where)
        name = node["segment"]
        if not isinstance(name, str) or (self.known_segments is not None and name not in self.known_segments):
            raise RuleError(f"{where}.segment", f"no segment named {name!r}")
        self.segments_used.add(name)
        return lambda facts: name in facts.segments


def segments_named(node: Any) -> set[str]:
    """The other segments a rule refers to (for ordering and cycle checks)."""
    found: set[str] = set()
    if isinstance(node, Mapping):
        if isinstance(node.get("segment"), str):
            found.add(node["segment"])
        for value in node.values():
            found |= segments_named(value)
    elif isinstance(node, list):
        for value in node:
            found |= segments_named(value)
    return found


def _only(node: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = [k for k in node if k not in allowed]
    if extra:
        raise RuleError(
            where, f"unexpected {', '.join(map(str, extra))} (allowed here: {', '.join(sorted(allowed))})"
        )


def _one_op(node: Mapping[str, Any], base: set[str], ops: tuple[str, ...], where: str) -> str:
    given = [k for k in node if k not in base]
    if len(given) != 1 or given[0] not in ops:
        raise RuleError(
            where, f"expected exactly one of {', '.join(ops)}; got {', '.join(map(str, given)) or 'none'}"
        )
    return str(given[0])


def _reader(name: str) -> Callable[[Facts], Any]:
    if name.startswith("attr."):
        attr = name[5:]
        return lambda facts: facts.contact.get("attrs", {}).get(attr)
    return lambda facts: facts.contact.get(name)


def _whole(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RuleError(where, f"expected a whole number from {low} to {high}")
    return value


def _number(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise RuleError(where, f"expected a number, got {value!r}")
    return Decimal(str(value))


def _glob(value: Any, where: str) -> Glob:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise RuleError(where, "expected a path pattern such as /pricing* (1-200 characters)")
    return Glob(value)


class Glob:
    """`*` and `?` wildcards, matched in O(len(path) x len(pattern)) at worst.

    A regex such as .*a.*a.*b backtracks polynomially on long paths; this
    matcher only ever returns to the most recent star, so no pattern a
    marketer writes can stall evaluation."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

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


def _comparison(read: Callable[[Facts], Any], kind: Kind, op: str, arg: Any, where: str) -> Predicate:
    if op == "exists":
        if not isinstance(arg, bool):
            raise RuleError(where, "expected true or false")
        return lambda facts: (read(facts) not in (None, "")) is arg
    if op in ("within_last_days", "more_than_days_ago"):
        if kind is not Kind.DATE:
            raise RuleError(where, "works on date fields only")
        days = _whole(arg, where, 0, 36500)
        recent = op == "within_last_days"

        def relative(facts: Facts) -> bool:
            value = _as_date(read(facts))
            if value is None:
                return False
            age = (facts.today - value).days
            return 0 <= age <= days if recent else age > days

        return relative
    if kind in _NUMERIC:
        return _numeric(read, op, arg, where)
    if op in ("lt", "lte", "gt", "gte", "between"):
        if kind is not Kind.DATE:
            raise RuleError(where, f"{op} needs a number or date field")
        return _dates(read, op, arg, where)
    if op == "in":
        if not isinstance(arg, list) or not arg or not all(isinstance(v, str) for v in arg):
            raise RuleError(where, "expected a non-empty list of text values")
        options = frozenset(v.lower() for v in arg)
        return lambda facts: isinstance(read(facts), str) and read(facts).lower() in options
    if not isinstance(arg, str):
        raise RuleError(where, f"expected text, got {arg!r}")
    text = arg.lower()
    if op == "contains":
        return lambda facts: isinstance(read(facts), str) and text in read(facts).lower()
    if op == "eq":
        return lambda facts: isinstance(read(facts), str) and read(facts).lower() == text
    return lambda facts: not (isinstance(read(facts), str) and read(facts).lower() == text)


def _numeric(read: Callable[[Facts], Any], op: str, arg: Any, where: str) -> Predicate:
    if op == "between":
        if not isinstance(arg, list) or len(arg) != 2:
            raise RuleError(where, "needs two numbers: [low, high]")
        low, high = _number(arg[0], f"{where}[0]"), _number(arg[1], f"{where}[1]")
        if low > high:
            raise RuleError(where, "the low end is above the high end")
        return lambda facts: (v := _as_number(read(facts))) is not None and low <= v <= high
    if op == "in":
        if not isinstance(arg, list) or not arg:
            raise RuleError(where, "expected a non-empty list of numbers")
        options = frozenset(_number(v, f"{where}[{i}]") for i, v in enumerate(arg))
        return lambda facts: _as_number(read(facts)) in options
    if op == "contains":
        raise RuleError(where, "contains works on text fields only")
    bound = _number(arg, where)
    test = {
        "eq": bound.__eq__,
        "ne": bound.__ne__,
        "lt": bound.__gt__,
        "lte": bound.__ge__,
        "gt": bound.__lt__,
        "gte": bound.__le__,
    }[op]
    if op == "ne":
        return lambda facts: (v := _as_number(read(facts))) is None or bool(test(v))
    return lambda facts: (v := _as_number(read(facts))) is not None and bool(test(v))


def _dates(read: Callable[[Facts], Any], op: str, arg: Any, where: str) -> Predicate:
    def parse(value: Any, at: str) -> date:
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise RuleError(at, f"expected a date like 2024-01-31, got {value!r}") from None

    if op == "between":
        if not isinstance(arg, list) or len(arg) != 2:
            raise RuleError(where, "needs two dates: [first, last]")
        first, last = parse(arg[0], f"{where}[0]"), parse(arg[1], f"{where}[1]")
        return lambda facts: (d := _as_date(read(facts))) is not None and first <= d <= last
    bound = parse(arg, where)
    test = {"lt": bound.__gt__, "lte": bound.__ge__, "gt": bound.__lt__, "gte": bound.__le__}[op]
    return lambda facts: (d := _as_date(read(facts))) is not None and bool(test(d))


def _as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    return None


def _as_date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None
