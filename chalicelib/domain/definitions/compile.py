"""The marketer's definitions, checked together and compiled.

Three files make one set: `catalogue.yaml` (products), `scoring.yaml` (named
scores, the profile grade, sales alerts) and `segments.yaml`.  A new version
of one file is compiled with the active versions of the others, so a change
that would break another file (a score a segment still uses) is refused with
the place it breaks.  Every issue found is reported, not just the first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from ..commerce import Product
from ..emails import InvalidEmailError, normalize_email
from ..errors import BadInputError
from ..scoring import ScoreModel, parse_score_model
from ..segments.rules import Compiled, RuleError, compile_rule
from .forms import Forms, parse_forms
from .mailing import Journeys, Mailing, parse_journeys, parse_mailing
from .source import Document, Issue, top

if TYPE_CHECKING:
    from ..program import Program

T = TypeVar("T")
KINDS = ("catalogue", "scoring", "segments", "templates", "scenarios", "forms")
EVALUATED = KINDS[:3]  # the kinds that decide scores, grades and segments
PROFILE_GRADES = ("A", "B", "C")  # D is everyone else
MAX_SEGMENTS = 200
MAX_PRODUCTS = 5000


class DefinitionsRejectedError(BadInputError):
    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(str(i) for i in issues[:5]))
        self.issues = issues


@dataclass(frozen=True)
class Segment:
    name: str
    description: str
    rule: Compiled


@dataclass(frozen=True)
class Timing:
    """What makes answers change as time passes, gathered once from every rule (for next_check)."""

    windows: frozenset[int] = frozenset()
    date_windows: frozenset[tuple[str, int]] = frozenset()
    score_thresholds: tuple[tuple[str, tuple[float, ...]], ...] = ()
    uses_history: bool = False
    uses_catalogue_cycles: bool = False
    uses_rfm: bool = False

    @classmethod
    def of(cls, rules: list[Compiled], scores: dict[str, ScoreModel], engagement: str | None) -> Timing:
        thresholds: dict[str, set[float]] = {}
        for rule in rules:
            for name, values in rule.score_thresholds.items():
                thresholds.setdefault(name, set()).update(values)
        if engagement in scores:
            thresholds.setdefault(engagement, set()).update(scores[engagement].bands)
        return cls(
            frozenset(w for r in rules for w in r.windows),
            frozenset(d for r in rules for d in r.date_windows),
            tuple((name, tuple(sorted(values))) for name, values in thresholds.items() if name in scores),
            any(r.uses_history for r in rules),
            any(r.uses_catalogue_cycles for r in rules),
            any(r.uses_rfm for r in rules),
        )


@dataclass(frozen=True)
class Definitions:
    catalogue: dict[str, Product] = field(default_factory=dict)
    scores: dict[str, ScoreModel] = field(default_factory=dict)
    engagement: str | None = None  # the score whose band is the grade's digit
    profile: tuple[tuple[str, Compiled], ...] = ()  # first match wins; D otherwise
    sales_alerts: tuple[str, ...] = ()  # who hears of a hot contact
    segments: tuple[Segment, ...] = ()  # dependency order: a segment after those it names
    versions: dict[str, int] = field(default_factory=dict)
    timing: Timing = field(default_factory=Timing)
    mailing: Mailing = field(default_factory=Mailing)
    journeys: Journeys = field(default_factory=Journeys)
    forms: Forms = field(default_factory=Forms)

    @cached_property
    def program(self) -> Program:
        """The set compiled into one evaluation function, on first use (then kept with the set)."""
        from ..program import Program  # here: loading or checking definitions never builds one

        return Program(self)


def compile_set(
    documents: Mapping[str, Document | None], versions: Mapping[str, int] | None = None
) -> Definitions:
    """Documents by kind (None: not defined yet); raises DefinitionsRejectedError with every issue."""
    issues: list[Issue] = []
    catalogue = _catalogue(documents.get("catalogue"), issues)
    scores, engagement, profile, alerts = _scoring(documents.get("scoring"), catalogue, issues)
    segments = _segments(documents.get("segments"), frozenset(scores), catalogue, issues)
    mailing = parse_mailing(documents.get("templates"), issues)
    journeys = parse_journeys(
        documents.get("scenarios"),
        frozenset(s.name for s in segments),
        mailing.marketing,
        frozenset(scores),
        issues,
        (versions or {}).get("scenarios", 0),
    )
    confirmations = {name: mailing.templates[name] for name in mailing.confirmations}
    forms = parse_forms(documents.get("forms"), confirmations, mailing.topic_list, issues)
    if issues:
        raise DefinitionsRejectedError(issues)
    rules = [s.rule for s in segments] + [rule for _, rule in profile]
    timing = Timing.of(rules, scores, engagement)
    return Definitions(
        catalogue,
        scores,
        engagement,
        profile,
        alerts,
        segments,
        dict(versions or {}),
        timing,
        mailing,
        journeys,
        forms,
    )


def _list(doc: Document, data: Mapping[str, Any], key: str, issues: list[Issue], limit: int) -> list[Any]:
    items = data.get(key, [])
    if not isinstance(items, list):
        issues.append(doc.issue(key, "expected a list"))
        return []
    if len(items) > limit:
        issues.append(doc.issue(key, f"at most {limit} entries"))
        return []
    return items


def _named(
    doc: Document,
    items: list[Any],
    key: str,
    parse: Callable[[Any, str], T],
    name_of: Callable[[T], str],
    name_field: str,
    issues: list[Issue],
) -> dict[str, tuple[int, T]]:
    """Each entry of a list parsed on its own (its problems reported, the rest still read),
    by name, with where it stood; a name given twice is reported."""
    found: dict[str, tuple[int, T]] = {}
    for i, item in enumerate(items):
        try:
            value = parse(item, f"{key}[{i}]")
        except RuleError as error:
            issues.append(doc.issue(error.where, error.message))
            continue
        name = name_of(value)
        if name in found:
            issues.append(doc.issue(f"{key}[{i}].{name_field}", f"{name_field} {name!r} appears twice"))
        found[name] = (i, value)
    return found


def _catalogue(doc: Document | None, issues: list[Issue]) -> dict[str, Product]:
    if doc is None:
        return {}
    data = top(doc, ("products",), issues)
    if data is None:
        return {}
    items = _list(doc, data, "products", issues, MAX_PRODUCTS)
    found = _named(doc, items, "products", _product, lambda p: p.sku, "sku", issues)
    products = {sku: product for sku, (_, product) in found.items()}
    places = {sku: i for sku, (i, _) in found.items()}
    for sku, product in products.items():
        for key, skus in (("upgrades", product.upgrades), ("options", product.options)):
            unknown = [s for s in skus if s not in products]
            if unknown:
                issues.append(
                    doc.issue(f"products[{places[sku]}].{key}", f"not in the catalogue: {', '.join(unknown)}")
                )
    return products


def _product(item: Any, where: str) -> Product:
    if not isinstance(item, Mapping):
        raise RuleError(where, "expected a mapping such as {sku: COFFEE-200, name: ..., cycle_days: 30}")
    extra = [k for k in item if k not in ("sku", "name", "cycle_days", "upgrades", "options")]
    if extra:
        raise RuleError(
            f"{where}.{extra[0]}", "unexpected key (allowed: sku, name, cycle_days, upgrades, options)"
        )
    sku = item.get("sku")
    if not isinstance(sku, (str, int)) or isinstance(sku, bool) or not str(sku).strip() or len(str(sku)) > 64:
        raise RuleError(f"{where}.sku", "expected a product code of 1-64 characters")
    cycle = item.get("cycle_days")
    if cycle is not None and (
        isinstance(cycle, bool) or not isinstance(cycle, int) or not 1 <= cycle <= 3650
    ):
        raise RuleError(f"{where}.cycle_days", f"expected whole days from 1 to 3650, got {cycle!r}")
    lists = {}
    for key in ("upgrades", "options"):
        value = item.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            raise RuleError(f"{where}.{key}", "expected a list of skus")
        lists[key] = tuple(str(v) for v in value)
    name = item.get("name", sku)
    return Product(str(sku).strip(), str(name), cycle, lists["upgrades"], lists["options"])


def _scoring(
    doc: Document | None, catalogue: dict[str, Product], issues: list[Issue]
) -> tuple[dict[str, ScoreModel], str | None, tuple[tuple[str, Compiled], ...], tuple[str, ...]]:
    if doc is None:
        return {}, None, (), ()
    data = top(doc, ("engagement", "profile", "sales_alerts", "scores"), issues)
    if data is None:
        return {}, None, (), ()
    items = _list(doc, data, "scores", issues, 20)
    found = _named(doc, items, "scores", parse_score_model, lambda m: m.name, "name", issues)
    scores = {name: model for name, (_, model) in found.items()}
    engagement = data.get("engagement", next(iter(scores), None))
    if engagement is not None and engagement not in scores:
        issues.append(doc.issue("engagement", f"no score named {engagement!r} (scores: {', '.join(scores)})"))
    profile = []
    grades_seen: set[str] = set()
    for i, item in enumerate(_list(doc, data, "profile", issues, len(PROFILE_GRADES))):
        where = f"profile[{i}]"
        if not isinstance(item, Mapping) or set(item) != {"grade", "rule"}:
            issues.append(
                doc.issue(where, "expected {grade: A, rule: {...}} (grades A, B, C; D is the rest)")
            )
            continue
        if item["grade"] not in PROFILE_GRADES or item["grade"] in grades_seen:
            issues.append(doc.issue(f"{where}.grade", "expected A, B or C, each once"))
            continue
        grades_seen.add(item["grade"])
        try:
            rule = compile_rule(item["rule"], f"{where}.rule", frozenset(), frozenset(scores), catalogue)
        except RuleError as error:
            issues.append(doc.issue(error.where, error.message))
            continue
        profile.append((str(item["grade"]), rule))
    return scores, engagement, tuple(profile), _alerts(doc, data.get("sales_alerts"), issues)


def _alerts(doc: Document, value: Any, issues: list[Issue]) -> tuple[str, ...]:
    if value is None:
        return ()
    to = value.get("to") if isinstance(value, Mapping) else None
    addresses = to if isinstance(to, list) else [to]
    if not isinstance(value, Mapping) or set(value) != {"to"} or not addresses:
        issues.append(doc.issue("sales_alerts", "expected {to: [sales@example.com]}"))
        return ()
    found = []
    for i, address in enumerate(addresses):
        try:
            found.append(normalize_email(address if isinstance(address, str) else ""))
        except InvalidEmailError:
            issues.append(doc.issue(f"sales_alerts.to[{i}]", f"not an email address: {address!r}"))
    return tuple(found)


def _segments(
    doc: Document | None, scores: frozenset[str], catalogue: dict[str, Product], issues: list[Issue]
) -> tuple[Segment, ...]:
    if doc is None:
        return ()
    data = top(doc, ("segments",), issues)
    if data is None:
        return ()
    items = _list(doc, data, "segments", issues, MAX_SEGMENTS)
    names: dict[str, int] = {}
    for i, item in enumerate(items):
        name = item.get("name") if isinstance(item, Mapping) else None
        if (
            not isinstance(name, str)
            or not name.replace("_", "").replace("-", "").isalnum()
            or len(name) > 64
        ):
            issues.append(doc.issue(f"segments[{i}].name", "expected a name of letters, digits, - and _"))
        elif name in names:
            issues.append(doc.issue(f"segments[{i}].name", f"segment {name!r} appears twice"))
        else:
            names[name] = i
    known = frozenset(names)
    compiled: dict[str, Segment] = {}
    for name, i in names.items():
        item = items[i]
        extra = [k for k in item if k not in ("name", "description", "rule")]
        if extra:
            issues.append(
                doc.issue(f"segments[{i}].{extra[0]}", "unexpected key (allowed: name, description, rule)")
            )
            continue
        if "rule" not in item:
            issues.append(doc.issue(f"segments[{i}]", "every segment needs a rule"))
            continue
        try:
            rule = compile_rule(item["rule"], f"segments[{i}].rule", known, scores, catalogue)
        except RuleError as error:
            issues.append(doc.issue(error.where, error.message))
            continue
        compiled[name] = Segment(name, str(item.get("description", "")), rule)
    ordered = _dependency_order(compiled, doc, names, issues)
    return tuple(ordered)


def _dependency_order(
    segments: dict[str, Segment], doc: Document, index: dict[str, int], issues: list[Issue]
) -> list[Segment]:
    """Each segment after the ones it names; a cycle is reported with its path."""
    ordered: list[Segment] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, trail: list[str]) -> bool:
        if state.get(name) == 2 or name not in segments:
            return True
        if state.get(name) == 1:
            cycle = [*trail[trail.index(name) :], name]
            issues.append(
                doc.issue(
                    f"segments[{index[name]}].rule",
                    f"segments refer to each other in a cycle: {' -> '.join(cycle)}",
                )
            )
            return False
        state[name] = 1
        fine = all(visit(other, [*trail, name]) for other in sorted(segments[name].rule.segments))
        state[name] = 2
        if fine:
            ordered.append(segments[name])
        return fine

    for name in segments:
        visit(name, [])
    return ordered
