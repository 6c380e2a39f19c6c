"""The sandbox mail templates run in: no Python internals, and bounded work and sizes.

Jinja2's own sandbox stops `{{ ''.__class__ }}`, not `{{ 9 ** (9 ** 9) }}` (years of
arithmetic), `{{ name * 100000000 }}` (gigabytes), nested loops over `range(100000)` or a
`replace` that multiplies a string.  Here each render carries a budget of work units:
every operator, call, filter, attribute read and loop turn spends one, plus one per 4 KiB
of text it makes, and every operation that could make something huge is checked *before*
it runs (widths, counts, repeats, digits).  A template that runs out is refused when it is
defined (it is rendered once against a sample person) or, for one person whose data makes
it costly, fails that one mail with the reason -- never the tick.

Lists, tuples and dicts are weighed whole, nested values included -- about the characters
they print as -- so `[x] * n` of a long `x` is refused before it is made, and no value a
template makes (literals too) outweighs the output limit.  One step on a value (printing it,
comparing it) can then cost no more than the limit, and a comparison is charged for what
it compares.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from types import BuiltinMethodType
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from ..limits import TEMPLATE_INT_BITS, TEMPLATE_OUTPUT_CHARS, TEMPLATE_WORK

CHUNK = 4096  # one more work unit per this many characters made


class TooCostlyError(SecurityError):
    """A template tried to do more work, or make more text, than one mail may."""


ELEMENTS = 256  # a container is charged one work unit per this many characters it weighs

_CONTAINERS = (list, tuple, dict, set, frozenset)


class Budget:
    __slots__ = ("_weighed", "left")

    def __init__(self, units: int = TEMPLATE_WORK) -> None:
        self.left = units
        self._weighed: dict[int, tuple[Any, int]] = {}  # id -> (the container, its weight), this render

    def weigh(self, value: Any) -> int:
        """About how many characters `value` prints as; a container is walked once a render
        (a list of the same list n times walks that list once), and never past the limit."""
        if isinstance(value, str):
            return len(value)
        if isinstance(value, int):
            return value.bit_length() // 3 + 1
        if not isinstance(value, _CONTAINERS):
            return 24  # a float, a date, an undefined field: short when printed
        known = self._weighed.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        total = 2
        for item in value.items() if isinstance(value, dict) else value:
            if isinstance(value, dict):  # a key and its value, no pair made to be weighed
                total += self.weigh(item[0]) + self.weigh(item[1]) + 6
            else:
                total += self.weigh(item) + 4  # quotes, comma, space
            if total > TEMPLATE_OUTPUT_CHARS:
                raise TooCostlyError(f"it makes a value of over {TEMPLATE_OUTPUT_CHARS:,} characters")
        self._weighed[id(value)] = (value, total)
        return total

    def spend(self, units: int = 1) -> None:
        self.left -= units
        if self.left < 0:
            raise TooCostlyError(f"it does more work than one mail may ({TEMPLATE_WORK:,} steps)")


_BUDGET: ContextVar[Budget] = ContextVar("template_budget")


def running(budget: Budget) -> Any:
    """Make `budget` the one the current render spends (returns the token to reset)."""
    return _BUDGET.set(budget)


def stopped(token: Any) -> None:
    _BUDGET.reset(token)


def spend(units: int = 1) -> None:
    _BUDGET.get().spend(units)


def weight(value: Any) -> int:
    """About how many characters `value` prints as, nested values included (see Budget.weigh)."""
    budget = _BUDGET.get(None)
    return (budget or Budget()).weigh(value)


def sized(value: Any) -> Any:
    """`value`, after charging for its size and refusing it when it is too big for a mail."""
    if isinstance(value, str):
        if len(value) > TEMPLATE_OUTPUT_CHARS:
            raise TooCostlyError(
                f"it makes a value of {len(value):,} characters (at most {TEMPLATE_OUTPUT_CHARS:,})"
            )
        spend(1 + len(value) // CHUNK)
    elif isinstance(value, _CONTAINERS):
        spend(1 + weight(value) // ELEMENTS)
    elif isinstance(value, int) and value.bit_length() > TEMPLATE_INT_BITS:
        raise TooCostlyError(f"it makes a number over {TEMPLATE_INT_BITS} bits")
    return value


def _room(size: int, what: str) -> None:
    if size > TEMPLATE_OUTPUT_CHARS:
        raise TooCostlyError(f"{what} would make {size:,} characters (at most {TEMPLATE_OUTPUT_CHARS:,})")


def _count(value: Any) -> None:
    """Widths, counts and repeats handed to a call or filter: at most the output limit."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > TEMPLATE_OUTPUT_CHARS:
        raise TooCostlyError(f"the number {value} is too big for a count or width here")


def weighed(value: Any) -> Any:
    """What a comparison is handed (`==`, `in`, `<`): charged for the container it walks."""
    if isinstance(value, _CONTAINERS):
        spend(weight(value) // ELEMENTS)
    return value


def _check_binop(operator: str, left: Any, right: Any) -> None:
    numbers = (int, float)
    if operator == "**" and isinstance(left, numbers) and isinstance(right, numbers):
        whole = isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1
        if whole and int(left).bit_length() * right > TEMPLATE_INT_BITS:
            raise TooCostlyError(f"{left} ** {right} is bigger than {TEMPLATE_INT_BITS} bits")
    elif operator == "*":
        if isinstance(left, int) and isinstance(right, str | list | tuple):
            left, right = right, left
        if isinstance(left, str | list | tuple) and isinstance(right, int):
            _room(weight(left) * max(right, 0), "repeating a value")
    elif operator == "+" and isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
        _room(weight(left) + weight(right), "joining two values")
    elif operator == "%" and isinstance(left, str):
        _room(_printf_size(left, right), "formatting with %")


_PRINTF = re.compile(r"%(?:\(([^)]*)\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _printf_size(text: str, values: Any) -> int:
    """What `text % values` makes at most: the text, each conversion's width, and the value
    each one prints (a value printed twice, `%(a)s%(a)s`, counted twice)."""
    total, position = len(text), 0
    for key, width, precision in _PRINTF.findall(text):
        if "*" in (width, precision):
            raise TooCostlyError("a width taken from the values (%*d) is not supported")
        total += int(width or 0) + int(precision or 0)
        if key and isinstance(values, dict):
            total += weight(values.get(key))
        elif isinstance(values, tuple):
            total += weight(values[position]) if position < len(values) else 0
            position += 1
        else:
            total += weight(values)
    return total


def _format_size(text: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    """What `text.format(*args, **kwargs)` makes at most: the text, the widths, and the value
    each field prints (`{0}{0}` counts it twice)."""
    total, position = len(text), 0
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError as error:
        raise SecurityError(f"not a valid format: {error}") from None
    for _, field, spec, _ in fields:
        if spec and "{" in spec:
            raise TooCostlyError("a width taken from the values ({:{w}}) is not supported")
        total += sum(int(digits) for digits in re.findall(r"\d+", spec or ""))
        if field is None:
            continue
        name = re.split(r"[.\[]", field, maxsplit=1)[0]
        if not name:
            name, position = str(position), position + 1
        if name.isdigit():
            total += weight(args[int(name)]) if int(name) < len(args) else 0
        else:
            total += weight(kwargs.get(name))
    return total


# The methods of text a template may call: none of them makes more than it is given,
# except those whose growth is checked in _check_str_call.
_STR_METHODS = frozenset(
    [
        "capitalize",
        "casefold",
        "count",
        "endswith",
        "find",
        "isalnum",
        "isalpha",
        "isdigit",
        "islower",
        "isnumeric",
        "isspace",
        "istitle",
        "isupper",
        "lower",
        "lstrip",
        "partition",
        "removeprefix",
        "removesuffix",
        "rfind",
        "rpartition",
        "rsplit",
        "rstrip",
        "split",
        "splitlines",
        "startswith",
        "strip",
        "swapcase",
        "title",
        "upper",
        "center",
        "ljust",
        "rjust",
        "zfill",
        "replace",
        "join",
        "format",
    ]
)


def _check_str_call(method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    name, text = method.__name__, method.__self__
    if name not in _STR_METHODS:
        raise SecurityError(f"the text method {name}() is not allowed in a template")
    if name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        times = text.count(args[0]) if args[0] else len(text) + 1
        _room(len(text) + times * len(args[1]), "replace()")
    elif name == "join":
        if not (args and isinstance(args[0], list | tuple)):
            raise SecurityError("join() takes a list here; or use the join filter")
        _room(sum(weight(part) for part in args[0]) + len(text) * len(args[0]), "join()")
    elif name == "format":
        _room(_format_size(text, args, kwargs), "format()")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, with every costly step checked and counted."""

    intercepted_binops = frozenset({"*", "**", "+", "-", "%", "//", "/"})  # also stops constant folding

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        spend()
        _check_binop(operator, left, right)
        try:
            return sized(super().call_binop(context, operator, left, right))
        except (OverflowError, ZeroDivisionError, ValueError) as error:
            raise SecurityError(f"{left!r} {operator} {right!r}: {error}") from None

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        spend()
        for value in (*args, *kwargs.values()):
            _count(value)
        method = getattr(__obj, "__wrapped__", __obj)  # Jinja hands out str.format wrapped
        if isinstance(method, BuiltinMethodType) and isinstance(getattr(method, "__self__", None), str):
            _check_str_call(method, args, kwargs)
        return sized(super().call(__context, __obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        spend()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        spend()
        return super().getitem(obj, argument)


def steps(items: Iterable[Any]) -> Iterator[Any]:
    """What every `{% for %}` loops over: one work unit a turn."""
    budget = _BUDGET.get()
    for item in items:
        budget.spend()
        yield item


def bounded_filter(name: str, run: Callable[..., Any]) -> Callable[..., Any]:
    """A built-in filter with its counts checked before it runs and its result charged after."""
    skip = 1 if getattr(run, "jinja_pass_arg", None) else 0  # the context Jinja passes first

    def checked(*args: Any, **kwargs: Any) -> Any:
        spend()
        subject, rest = (args[skip], args[skip + 1 :]) if len(args) > skip else (None, ())
        for value in (*rest, *kwargs.values()):
            _count(value)
        if isinstance(subject, str):
            if name == "indent":
                width = kwargs.get("width", rest[0] if rest else 4)
                _room(len(subject) + weight(width) * (subject.count("\n") + 1), "indent")
            elif name == "format":  # Jinja's: text % (kwargs or args)
                _room(_printf_size(subject, kwargs or tuple(rest)), "format")
            elif name == "replace" and len(rest) >= 2:
                old, new = str(rest[0]), str(rest[1])
                times = subject.count(old) if old else len(subject) + 1
                _room(len(subject) + times * len(new), "replace")
        elif name == "join" and subject is not None:
            if not isinstance(subject, list | tuple):  # a generator (map, select...): count what it makes
                subject = list(steps(subject))
                args = (*args[:skip], subject, *rest)
            glue = weight(kwargs.get("d", rest[0] if rest else ""))
            _room(sum(weight(part) for part in subject) + glue * len(subject), "join")
        return sized(run(*args, **kwargs))

    checked.jinja_pass_arg = getattr(run, "jinja_pass_arg", None)  # type: ignore[attr-defined]
    return checked


def _through(node: nodes.Node, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)  # type: ignore[arg-type]


class _Counted(NodeTransformer):
    """Each `{% for %}` loops over `steps(...)`; each list, tuple or dict written in the
    template is weighed as it is made; each side of a comparison is charged for its weight."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _through(node.iter, "sodate_steps")
        return node

    def visit_List(self, node: nodes.Expr) -> nodes.Node:
        self.generic_visit(node)
        return _through(node, "sodate_sized")

    visit_Dict = visit_List

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:
        self.generic_visit(node)
        return _through(node, "sodate_sized") if node.ctx == "load" else node  # not `for a, b in`

    def visit_Compare(self, node: nodes.Compare) -> nodes.Node:
        self.generic_visit(node)
        node.expr = _through(node.expr, "sodate_weighed")
        for operand in node.ops:
            operand.expr = _through(operand.expr, "sodate_weighed")
        return node


def with_counted_loops(template: nodes.Template) -> nodes.Template:
    """The parsed template, its loops, literals and comparisons counted (see _Counted)."""
    counted = _Counted().visit(template)
    assert isinstance(counted, nodes.Template)
    return counted
