"""One contact against the definitions: scores from hits, grade, segments, next check.

Pure: the caller hands in the contact, its recent history, the time and the
population's RFM boundaries, and stores what comes back.  `next_check` is the
earliest moment any time-based rule could change its answer for this person
(a visit leaving a window, a score decaying past a threshold, a product
falling due), so the sweep touches only those contacts, and only then.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from .commerce import (
    RfmBounds,
    products_bought,
    recency_changes_at,
    replenishment_due_on,
    rfm_code,
    rfm_group,
)
from .definitions.compile import Definitions
from .scoring import Change, HitFacts, ScoreModel, ScoreState, crossed_hot, score_hit
from .segments.facts import Facts, Visit

# What evaluation writes on a contact; a change to only these is not a reason to evaluate again.
DERIVED = frozenset({"grade", "segments", "rfm", "rfm_group", "check_at", "check_shard", "evaluated_at"})
SCORING = frozenset({"scores", "scored_through"})


@dataclass(frozen=True)
class HitRecord:
    key: str  # the hit's sort key: time first, so keys order hits
    at: datetime
    facts: HitFacts


@dataclass
class Scored:
    changes: list[tuple[HitRecord, Change]] = field(default_factory=list)
    hot: list[tuple[HitRecord, Change]] = field(default_factory=list)  # crossings into "hot"


@dataclass
class History:
    visits: list[Visit] = field(default_factory=list)
    events: dict[str, datetime] = field(default_factory=dict)  # name -> last time


@dataclass(frozen=True)
class Evaluation:
    grade: str
    segments: frozenset[str]
    rfm: str
    scores: dict[str, float]
    check_at: datetime | None

    def fields(self) -> dict[str, Any]:
        return {
            "grade": self.grade,
            "segments": sorted(self.segments),
            "rfm": self.rfm,
            "rfm_group": rfm_group(self.rfm),
            "check_at": self.check_at.isoformat(timespec="seconds") if self.check_at else None,
        }


# --- scores on the contact ----------------------------------------------------------------------
def score_states(contact: Mapping[str, Any]) -> dict[str, ScoreState]:
    states = {}
    for name, stored in (contact.get("scores") or {}).items():
        caps = {rule: (str(c[0]), float(c[1])) for rule, c in (stored.get("caps") or {}).items()}
        at = datetime.fromisoformat(stored["at"]) if stored.get("at") else None
        states[name] = ScoreState(float(stored.get("v", 0)), at, caps)
    return states


def stored_scores(states: Mapping[str, ScoreState]) -> dict[str, Any]:
    return {
        name: {
            "v": Decimal(str(round(state.value, 4))),
            "at": state.at.isoformat(timespec="milliseconds") if state.at else "",
            "caps": {
                rule: [start, Decimal(str(round(used, 4)))] for rule, (start, used) in state.capped.items()
            },
        }
        for name, state in states.items()
    }


def current_scores(defs: Definitions, contact: Mapping[str, Any], now: datetime) -> dict[str, float]:
    states = score_states(contact)
    return {
        name: states[name].current(model, now) if name in states else 0.0
        for name, model in defs.scores.items()
    }


def apply_hits(defs: Definitions, contact: dict[str, Any], hits: Iterable[HitRecord]) -> Scored:
    """Score hits in key order, once each (`scored_through` remembers the last one applied)."""
    scored = Scored()
    states = score_states(contact)
    through = str(contact.get("scored_through") or "")
    for hit in sorted(hits, key=lambda h: h.key):
        if hit.key <= through:
            continue
        through = hit.key
        for model in defs.scores.values():
            state = states.setdefault(model.name, ScoreState())
            for change in score_hit(model, state, hit.facts, hit.at):
                scored.changes.append((hit, change))
                if crossed_hot(model, change.before, change.after):
                    scored.hot.append((hit, change))
    if through:
        contact["scores"] = stored_scores(states)
        contact["scored_through"] = through
    return scored


# --- evaluation ---------------------------------------------------------------------------------
def facts_for(
    defs: Definitions, contact: Mapping[str, Any], history: History, now: datetime, bounds: RfmBounds | None
) -> Facts:
    return Facts(
        contact=dict(contact),
        now=now,
        scores=current_scores(defs, contact, now),
        visits=history.visits,
        events=history.events,
        products=products_bought(contact),
        rfm=rfm_code(bounds, contact, now.date()),
    )


def evaluate(
    defs: Definitions, contact: Mapping[str, Any], history: History, now: datetime, bounds: RfmBounds | None
) -> Evaluation:
    facts = facts_for(defs, contact, history, now, bounds)
    profile = next((grade for grade, rule in defs.profile if rule(facts)), "D")
    model = defs.scores.get(defs.engagement or "")
    band = model.band(facts.scores.get(model.name, 0.0)) if model else 1
    facts.grade = f"{profile}{band}"
    members: set[str] = set()
    for segment in defs.segments:  # dependency order: the ones named are decided first
        facts.segments = frozenset(members)
        if segment.rule(facts):
            members.add(segment.name)
    facts.segments = frozenset(members)
    return Evaluation(
        facts.grade, facts.segments, facts.rfm, facts.scores, next_check(defs, facts, contact, bounds)
    )


def next_check(
    defs: Definitions, facts: Facts, contact: Mapping[str, Any], bounds: RfmBounds | None
) -> datetime | None:
    """The earliest time a rule's answer can change without any new event (None: never)."""
    now = facts.now
    rules = defs.rules()
    later: list[datetime] = []
    windows = {d for rule in rules for d in rule.windows}
    times = [v.at for v in facts.visits] + list(facts.events.values())
    days = list(facts.products.values())
    for window in windows:
        span = timedelta(days=window)
        later += [t + span for t in times]
        later += [_midnight(d) + span + timedelta(days=1) for d in days]
    for name, window in {dw for rule in rules for dw in rule.date_windows}:
        day = _day(facts.contact.get(name))
        if day:
            later.append(_midnight(day) + timedelta(days=window + 1))
    if any(rule.uses_catalogue_cycles for rule in rules):
        for sku, day in facts.products.items():
            product = defs.catalogue.get(sku)
            due = replenishment_due_on(product, day) if product else None
            if due:
                later.append(_midnight(due))
    if any(rule.uses_rfm for rule in rules):
        last = _day(facts.contact.get("last_purchase_date"))
        drop = recency_changes_at(bounds, last, facts.today)
        if drop:
            later.append(_midnight(drop))
    later += _score_crossings(defs, rules, contact)
    upcoming = [t for t in later if t > now]
    return min(upcoming) if upcoming else None


def _score_crossings(defs: Definitions, rules: list[Any], contact: Mapping[str, Any]) -> list[datetime]:
    """When each decaying score falls below each threshold a rule (or the grade) compares it with."""
    thresholds: dict[str, set[float]] = {}
    for rule in rules:
        for name, values in rule.score_thresholds.items():
            thresholds.setdefault(name, set()).update(values)
    engagement: ScoreModel | None = defs.scores.get(defs.engagement or "")
    if engagement:
        thresholds.setdefault(engagement.name, set()).update(engagement.bands)
    found = []
    states = score_states(contact)
    for name, values in thresholds.items():
        model, state = defs.scores.get(name), states.get(name)
        if model is None or state is None or state.at is None or state.value <= 0:
            continue
        for threshold in values:
            if 0 < threshold < state.value:
                days = model.half_life_days * math.log2(state.value / threshold)
                found.append(state.at + timedelta(days=days, seconds=1))
    return found


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _day(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None
