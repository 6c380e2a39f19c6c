"""The sandbox mail templates run in: no Python internals, and bounded work and sizes.

Jinja2's own sandbox stops `{{ ''.__class__ }}`, not `{{ 9 ** (9 ** 9) }}` (years of
arithmetic), `{{ name * 100000000 }}` (gigabytes), nested loops over `range(100000)` or a
`replace` that multiplies a string.  Here each render carries a budget of work units:
every operator, call, filter, attribute read and loop turn spends one, plus one per 4 KiB
of text it makes, and every operation that could make something huge is checked *before*
it runs (widths, counts, repeats, digits).  A template that runs out is refused when it is
defined (it is rendered once against a sample person) or, for one person whose data makes
it costly, fails that one mail with the reason -- never the tick.
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

from ..limits import TEMPLATE_INT_BITS, TEMPLATE_OUTPUT_CHARS, TEMPLATE_WORK

CHUNK = 4096  # one more work unit per this many characters made


class TooCostlyError(SecurityError):
    """A template tried to do more work, or make more text, than one mail may."""


class Budget:
    __slots__ = ("left",)

    def __init__(self, units: int = TEMPLATE_WORK) -> None:
        self.left = units

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


def _sized(value: Any) -> Any:
    """`value`, after charging for its size and refusing it when it is too big for a mail."""
    if isinstance(value, str | list | tuple | dict):
        if len(value) > TEMPLATE_OUTPUT_CHARS:
            raise TooCostlyError(
                f"it makes a value of {len(value):,} items (at most {TEMPLATE_OUTPUT_CHARS:,})"
            )
        spend(1 + len(value) // CHUNK)
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


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple | dict) else len(str(value))


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
            _room(len(left) * max(right, 0), "repeating a value")
    elif operator == "+" and isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
        _room(len(left) + len(right), "joining two values")
    elif operator == "%" and isinstance(left, str):
        _room(len(left) + _printf_widths(left), "formatting with %")


_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _printf_widths(text: str) -> int:
    total = 0
    for width, precision in _PRINTF.findall(text):
        if "*" in (width, precision):
            raise TooCostlyError("a width taken from the values (%*d) is not supported")
        total += int(width or 0) + int(precision or 0)
    return total


def _format_widths(text: str) -> int:
    total = 0
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError as error:
        raise SecurityError(f"not a valid format: {error}") from None
    for _, _, spec, _ in fields:
        if spec and "{" in spec:
            raise TooCostlyError("a width taken from the values ({:{w}}) is not supported")
        total += sum(int(digits) for digits in re.findall(r"\d+", spec or ""))
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
        _room(sum(_length(part) for part in args[0]) + len(text) * len(args[0]), "join()")
    elif name == "format":
        _room(
            len(text) + _format_widths(text) + sum(_length(a) for a in (*args, *kwargs.values())), "format()"
        )


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, with every costly step checked and counted."""

    intercepted_binops = frozenset({"*", "**", "+", "-", "%", "//", "/"})  # also stops constant folding

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        spend()
        _check_binop(operator, left, right)
        try:
            return _sized(super().call_binop(context, operator, left, right))
        except (OverflowError, ZeroDivisionError, ValueError) as error:
            raise SecurityError(f"{left!r} {operator} {right!r}: {error}") from None

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        spend()
        for value in (*args, *kwargs.values()):
            _count(value)
        method = getattr(__obj, "__wrapped__", __obj)  # Jinja hands out str.format wrapped
        if isinstance(method, BuiltinMethodType) and isinstance(getattr(method, "__self__", None), str):
            _check_str_call(method, args, kwargs)
        return _sized(super().call(__context, __obj, *args, **kwargs))

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
                _room(len(subject) + _length(width) * (subject.count("\n") + 1), "indent")
            elif name == "format":
                _room(len(subject) + _printf_widths(subject), "format")
            elif name == "replace" and len(rest) >= 2:
                old, new = str(rest[0]), str(rest[1])
                times = subject.count(old) if old else len(subject) + 1
                _room(len(subject) + times * len(new), "replace")
        elif name == "join" and subject is not None:
            if not isinstance(subject, list | tuple):  # a generator (map, select...): count what it makes
                subject = list(steps(subject))
                args = (*args[:skip], subject, *rest)
            glue = _length(kwargs.get("d", rest[0] if rest else ""))
            _room(sum(_length(part) for part in subject) + glue * len(subject), "join")
        return _sized(run(*args, **kwargs))

    checked.jinja_pass_arg = getattr(run, "jinja_pass_arg", None)  # type: ignore[attr-defined]
    return checked


def with_counted_loops(template: nodes.Template) -> nodes.Template:
    """The parsed template, each `{% for %}` looping over `steps(...)`."""
    for loop in template.find_all(nodes.For):
        loop.iter = nodes.Filter(loop.iter, "sodate_steps", [], [], None, None, lineno=loop.lineno)
    return template
