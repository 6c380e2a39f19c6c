"""Scores that cool down by themselves, and the grade that sales reads.

A score is stored as (value, at).  Its current value is the stored one
halved every `half_life_days` since `at` -- computed when read, so nobody
rewrites every contact at night.  A hit adds the points of every rule it
matches, each rule capped per period, and every change carries its reason
so the timeline can explain it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .segments.rules import Glob, RuleError

BANDS = (1, 2, 3, 4)  # engagement 1 (cold) .. 4 (hot)
# A rule's key in the definition -> the kind of event it scores.
RULE_KINDS = {
    "viewed": "pageview",
    "did": "event",
    "converted": "conversion",
    "purchased": "purchase",
    "submitted": "form",
    "opened": "email_open",
    "clicked": "email_click",
}


def decayed(value: float, since: datetime, now: datetime, half_life_days: float) -> float:
    """What `value`, set at `since`, has cooled to by `now` (time before `since` changes nothing)."""
    elapsed = max((now - since).total_seconds(), 0.0) / 86400
    return float(value * 0.5 ** (elapsed / half_life_days))


@dataclass(frozen=True)
class ScoreRule:
    name: str
    points: float
    kind: str  # pageview, event, conversion, purchase, form, email_open, email_click
    path: Glob | None = None
    event: str | None = None  # event name, form name, sku, scenario; "*" for any
    cap_points: float | None = None  # at most this many points from this rule ...
    cap_days: int = 1  # ... per this many days


@dataclass(frozen=True)
class ScoreModel:
    name: str
    half_life_days: float
    rules: tuple[ScoreRule, ...]
    bands: tuple[float, float, float]  # thresholds of engagement 2, 3 and 4 ("hot")

    def band(self, value: float) -> int:
        return 1 + bisect_right(self.bands, value)


@dataclass
class ScoreState:
    value: float = 0.0
    at: datetime | None = None
    capped: dict[str, tuple[str, float]] = field(default_factory=dict)  # rule -> (period start, points)

    def current(self, model: ScoreModel, now: datetime) -> float:
        return decayed(self.value, self.at, now, model.half_life_days) if self.at else 0.0


@dataclass(frozen=True)
class Change:
    score: str
    rule: str
    points: float
    before: float
    after: float


@dataclass(frozen=True)
class HitFacts:
    kind: str
    path: str = ""
    name: str = ""  # event name; for a purchase, its products
    bot: bool = False
    skus: tuple[str, ...] = ()
    points: float = 0.0  # kind "points": a scenario's update step gives these to score `name`


def score_hit(model: ScoreModel, state: ScoreState, hit: HitFacts, now: datetime) -> list[Change]:
    """Apply one hit: decay to now, add each matching rule's points within its cap."""
    if hit.bot:
        return []
    if hit.kind == "points":
        return _add(model, state, "scenario", hit.points, now) if hit.name == model.name else []
    changes = []
    for rule in model.rules:
        if not _matches(rule, hit):
            continue
        points = _within_cap(rule, state, now)
        if points != 0:
            changes += _add(model, state, rule.name, points, now)
    return changes


def _add(model: ScoreModel, state: ScoreState, rule: str, points: float, now: datetime) -> list[Change]:
    if state.at is not None and now < state.at:
        # An older hit arriving late (a second device's history joining the person):
        # its points have cooled since it happened.
        before = state.value
        state.value += decayed(points, now, state.at, model.half_life_days)
    else:
        before = state.current(model, now)
        state.value, state.at = before + points, now
    return [Change(model.name, rule, points, before, state.value)]


def crossed_hot(model: ScoreModel, before: float, after: float) -> bool:
    """True once per crossing: from below the hot threshold to at or above it."""
    hot = model.bands[-1]
    return before < hot <= after


def _matches(rule: ScoreRule, hit: HitFacts) -> bool:
    if rule.kind != hit.kind:
        return False
    if rule.path is not None and not rule.path.match(hit.path):
        return False
    if rule.event is None or rule.event == "*":
        return True
    return rule.event in hit.skus if hit.kind == "purchase" else rule.event == hit.name


def _within_cap(rule: ScoreRule, state: ScoreState, now: datetime) -> float:
    if rule.cap_points is None:
        return rule.points
    period = (now - datetime(2000, 1, 1, tzinfo=now.tzinfo)) // timedelta(days=rule.cap_days)
    start = str(period)
    used_start, used = state.capped.get(rule.name, (start, 0.0))
    if used_start != start:
        used = 0.0
    room = max(rule.cap_points - abs(used), 0.0)
    points = max(min(rule.points, room), -room)
    state.capped[rule.name] = (start, used + points)
    return points


def parse_score_model(definition: Any, where: str = "score") -> ScoreModel:
    """A model from its YAML/JSON shape; errors name their place like the segment rules do."""
    if not isinstance(definition, Mapping):
        raise RuleError(where, "expected a mapping with name, half_life_days, rules and bands")
    name = definition.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        raise RuleError(f"{where}.name", "expected a name of letters, digits and _")
    half_life = definition.get("half_life_days", 30)
    if isinstance(half_life, bool) or not isinstance(half_life, (int, float)) or not 0 < half_life <= 3650:
        raise RuleError(f"{where}.half_life_days", "expected a number of days from 0 to 3650")
    bands = definition.get("bands", [20, 40, 60])
    if (
        not isinstance(bands, list)
        or len(bands) != 3
        or not all(isinstance(b, (int, float)) for b in bands)
        or sorted(bands) != bands
    ):
        raise RuleError(f"{where}.bands", "expected three rising thresholds for engagement 2, 3 and 4 (hot)")
    rules = definition.get("rules")
    if not isinstance(rules, list) or not rules:
        raise RuleError(f"{where}.rules", "expected a non-empty list of rules")
    parsed = tuple(_parse_rule(rule, f"{where}.rules[{i}]") for i, rule in enumerate(rules))
    if len({r.name for r in parsed}) != len(parsed):
        raise RuleError(f"{where}.rules", "rule names must be unique")
    return ScoreModel(name, float(half_life), parsed, (float(bands[0]), float(bands[1]), float(bands[2])))


def _parse_rule(rule: Any, where: str) -> ScoreRule:
    if not isinstance(rule, Mapping):
        raise RuleError(where, "expected a mapping such as {name: pricing, viewed: /pricing*, points: 10}")
    name = rule.get("name")
    if not isinstance(name, str) or not name:
        raise RuleError(f"{where}.name", "every rule needs a name (it explains the points)")
    points = rule.get("points")
    if isinstance(points, bool) or not isinstance(points, (int, float)) or not -1000 <= points <= 1000:
        raise RuleError(f"{where}.points", "expected a number from -1000 to 1000")
    kinds = [k for k in RULE_KINDS if k in rule]
    if len(kinds) != 1:
        raise RuleError(where, f"expected exactly one of {', '.join(RULE_KINDS)}")
    extra = [k for k in rule if k not in (*kinds, "name", "points", "cap")]
    if extra:
        raise RuleError(f"{where}.{extra[0]}", "unexpected key (allowed: name, points, cap and the kind)")
    kind = kinds[0]
    path = event = None
    if kind == "viewed":
        if not isinstance(rule["viewed"], str) or not rule["viewed"]:
            raise RuleError(f"{where}.viewed", "expected a path pattern such as /pricing*")
        path = Glob(rule["viewed"])
    elif not isinstance(rule[kind], str) or not rule[kind]:
        raise RuleError(f"{where}.{kind}", 'expected a name (or "*" for any)')
    else:
        event = rule[kind]
    cap = rule.get("cap")
    cap_points, cap_days = None, 1
    if cap is not None:
        if not isinstance(cap, Mapping) or not isinstance(cap.get("points"), (int, float)):
            raise RuleError(f"{where}.cap", "expected {points: N, per_days: D}")
        cap_points = abs(float(cap["points"]))
        cap_days = cap.get("per_days", 1)
        if isinstance(cap_days, bool) or not isinstance(cap_days, int) or not 1 <= cap_days <= 365:
            raise RuleError(f"{where}.cap.per_days", "expected whole days from 1 to 365")
    return ScoreRule(name, float(points), RULE_KINDS[kind], path, event, cap_points, cap_days)
