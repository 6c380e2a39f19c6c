"""Field comparisons of the rule language: numbers, dates, text and guarded patterns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from ..days import iso_day
from ..errors import BadInputError
from ..fields import FIELD_KINDS, Kind
from .facts import Facts
from .patterns import UnsafePatternError, safe_regex

Predicate = Callable[[Facts], bool]
NUMERIC = (Kind.INT, Kind.MONEY)
COMPARISONS = (
    "eq",
    "ne",
    "lt",
    "lte",
    "gt",
    "gte",
    "between",
    "in",
    "contains",
    "matches",
    "exists",
    "within_last_days",
    "more_than_days_ago",
)
FOREVER_DAYS = 3650  # a window this long is no window

_STATUS_FIELDS = {
    "status": Kind.TEXT,
    "source": Kind.TEXT,
    "created_at": Kind.DATE,
    "updated_at": Kind.DATE,
    "consent_at": Kind.DATE,
    "grade": Kind.TEXT,
}


class RuleError(BadInputError):
    """`where` is the path to the offending part, e.g. `rule.all[1].field`."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


def field_kind(name: str) -> Kind:
    if name.startswith("attr.") and len(name) > 5:
        return Kind.TEXT
    if name in _STATUS_FIELDS:
        return _STATUS_FIELDS[name]
    if name in FIELD_KINDS and name != "consent":
        return FIELD_KINDS[name]
    known = ", ".join(sorted([*(f for f in FIELD_KINDS if f != "consent"), *_STATUS_FIELDS]))
    raise KeyError(f"unknown field '{name}' (known: {known}, or attr.<name>)")


def whole(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RuleError(where, f"expected a whole number from {low} to {high}, got {value!r}")
    return value


def number(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise RuleError(where, f"expected a number, got {value!r}")
    return Decimal(str(value))


def comparison(read: Callable[[Facts], Any], kind: Kind, op: str, arg: Any, where: str) -> Predicate:
    if op == "exists":
        if not isinstance(arg, bool):
            raise RuleError(where, "expected true or false")
        return lambda facts: (read(facts) not in (None, "")) is arg
    if op in ("within_last_days", "more_than_days_ago"):
        if kind is not Kind.DATE:
            raise RuleError(where, "works on date fields only")
        return within_days(read, whole(arg, where, 0, 36500), op == "within_last_days")
    if kind in NUMERIC:
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
    if op == "matches":
        try:
            pattern = safe_regex(arg)
        except UnsafePatternError as error:
            raise RuleError(where, str(error)) from None
        found_in = pattern.found_in
        return lambda facts: isinstance(v := read(facts), str) and found_in(v)
    if op == "eq":
        return lambda facts: isinstance(read(facts), str) and read(facts).lower() == text
    return lambda facts: not (isinstance(read(facts), str) and read(facts).lower() == text)


def _numeric(read: Callable[[Facts], Any], op: str, arg: Any, where: str) -> Predicate:
    if op == "between":
        if not isinstance(arg, list) or len(arg) != 2:
            raise RuleError(where, "needs two numbers: [low, high]")
        low, high = number(arg[0], f"{where}[0]"), number(arg[1], f"{where}[1]")
        if low > high:
            raise RuleError(where, "the low end is above the high end")
        return lambda facts: (v := as_number(read(facts))) is not None and low <= v <= high
    if op == "in":
        if not isinstance(arg, list) or not arg:
            raise RuleError(where, "expected a non-empty list of numbers")
        options = frozenset(number(v, f"{where}[{i}]") for i, v in enumerate(arg))
        return lambda facts: as_number(read(facts)) in options
    if op in ("contains", "matches"):
        raise RuleError(where, f"{op} works on text fields only")
    test = against(number(arg, where), op)
    if op == "ne":
        return lambda facts: (v := as_number(read(facts))) is None or bool(test(v))
    return lambda facts: (v := as_number(read(facts))) is not None and bool(test(v))


def against(bound: Any, op: str) -> Callable[[Any], Any]:
    """`value op bound` as a one-argument test (eq ne lt lte gt gte)."""
    tests: dict[str, Callable[[Any], Any]] = {
        "eq": bound.__eq__,
        "ne": bound.__ne__,
        "lt": bound.__gt__,
        "lte": bound.__ge__,
        "gt": bound.__lt__,
        "gte": bound.__le__,
    }
    return tests[op]


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
        return lambda facts: (d := iso_day(read(facts))) is not None and first <= d <= last
    bound = parse(arg, where)
    test = {"lt": bound.__gt__, "lte": bound.__ge__, "gt": bound.__lt__, "gte": bound.__le__}[op]
    return lambda facts: (d := iso_day(read(facts))) is not None and bool(test(d))


def as_number(value: Any) -> Decimal | int | None:
    """Ints and Decimals compare with Decimal bounds exactly as they are; floats go through str."""
    if value is None or value is True or value is False:
        return None
    if isinstance(value, (int, Decimal)):
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    return None


def score_test(name: str, op: str, arg: Any) -> Predicate:
    """Scores are floats (they decay continuously): compared as floats, no Decimal on the hot path."""
    if op == "between":
        low, high = float(arg[0]), float(arg[1])
        return lambda facts: low <= facts.scores.get(name, 0.0) <= high
    test = against(float(arg), op)
    return lambda facts: bool(test(facts.scores.get(name, 0.0)))


def only(node: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = [k for k in node if k not in allowed]
    if extra:
        raise RuleError(
            where, f"unexpected {', '.join(map(str, extra))} (allowed here: {', '.join(sorted(allowed))})"
        )


def one_op(node: Mapping[str, Any], base: set[str], ops: tuple[str, ...], where: str) -> str:
    given = [k for k in node if k not in base]
    if len(given) != 1 or given[0] not in ops:
        raise RuleError(
            where, f"expected exactly one of {', '.join(ops)}; got {', '.join(map(str, given)) or 'none'}"
        )
    return str(given[0])


def every(parts: tuple[Predicate, ...] | list[Predicate]) -> Predicate:
    """All of `parts` (the first that fails ends it), with no generator on the hot path."""
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda facts: first(facts) and second(facts)
    held = tuple(parts)

    def all_hold(facts: Facts) -> bool:
        for part in held:  # noqa: SIM110  (a plain loop: no generator on the hot path)
            if not part(facts):
                return False
        return True

    return all_hold


def some(parts: tuple[Predicate, ...] | list[Predicate]) -> Predicate:
    """Any of `parts` (the first that holds ends it)."""
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda facts: first(facts) or second(facts)
    held = tuple(parts)

    def one_holds(facts: Facts) -> bool:
        for part in held:  # noqa: SIM110
            if part(facts):
                return True
        return False

    return one_holds


def within_days(read: Callable[[Facts], Any], days: int, recent: bool) -> Predicate:
    """A day read from the facts is at most `days` ago (`recent`), or longer ago than that."""

    def relative(facts: Facts) -> bool:
        value = iso_day(read(facts))
        if value is None:
            return False
        age = (facts.today - value).days
        return 0 <= age <= days if recent else age > days

    return relative


def field_reader(name: str) -> Callable[[Facts], Any]:
    """How a rule reads a field of the person: `attr.<name>`, the grade, or a contact field."""
    if name.startswith("attr."):
        attr = name[5:]
        return lambda facts: facts.contact.get("attrs", {}).get(attr)
    if name == "grade":
        return lambda facts: facts.grade
    return lambda facts: facts.contact.get(name)
