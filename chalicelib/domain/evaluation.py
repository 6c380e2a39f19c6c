"""One contact against the definitions: scores from hits, grade, segments, next check.

Pure: the caller hands in the contact, its recent history, the time and the
population's RFM boundaries, and stores what comes back.  `next_check` is the
earliest moment any time-based rule could change its answer for this person
(a visit leaving a window, a score decaying past a threshold, a product
falling due), so the sweep touches only those contacts, and only then.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
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
from .days import iso_day
from .definitions.compile import Definitions
from .scoring import Change, HitFacts, ScoreState, crossed_hot, score_hit
from .segments.facts import Facts, Visit

# What evaluation writes on a contact; a change to only these is not a reason to evaluate again.
DERIVED = frozenset({"grade", "segments", "rfm", "rfm_group", "check_at", "check_shard", "evaluated_at"})
SCORING = frozenset({"scores", "scored_through", "scored_keys", "scored_version"})
REMEMBERED_HITS = 300  # a stream batch is at most 100 records: a retry always finds its hits here
DAY = 86400.0


@dataclass(frozen=True)
class HitRecord:
    key: str  # the hit's sort key: time first, so keys order hits
    at: datetime
    facts: HitFacts


@dataclass(frozen=True)
class Move:
    """One person's segment changes from one evaluation: entered and left."""

    contact_id: str
    email: str
    entered: list[str]
    left: list[str]


@dataclass(frozen=True)
class Moved:
    """What the segment store did with an evaluation's moves: the timeline entries of the
    changes it made, and the changes it could not make yet (made neither now nor before: a
    write conflict or throttling outlasted its retries).  Every other change is in place."""

    made: list[tuple[str, dict[str, str]]]
    missed: list[Move]

    def segments_of(self, contact_id: str, wanted: Iterable[str]) -> list[str]:
        """The person's segments as the membership table now has them: what evaluation wanted,
        except the changes missed (still out of a missed entry, still in a missed exit)."""
        held = set(wanted)
        for move in self.missed:
            if move.contact_id == contact_id:
                held = (held - set(move.entered)) | set(move.left)
        return sorted(held)


@dataclass
class Scored:
    changes: list[tuple[HitRecord, Change]] = field(default_factory=list)
    hot: list[tuple[HitRecord, Change]] = field(default_factory=list)  # crossings into "hot"


@dataclass
class History:
    visits: list[Visit] = field(default_factory=list)
    events: dict[str, datetime] = field(default_factory=dict)  # name -> last time


@dataclass(slots=True)
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
def score_states(contact: Mapping[str, Any], caps_too: bool = True) -> dict[str, ScoreState]:
    states = {}
    for name, stored in (contact.get("scores") or {}).items():
        caps = (
            {rule: (str(c[0]), float(c[1])) for rule, c in (stored.get("caps") or {}).items()}
            if caps_too
            else {}
        )
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
    """Score hits in key order, once each.

    `scored_keys` remembers the last hits applied, so a redelivered batch scores nothing;
    an older hit seen for the first time (history joining from another device) still
    counts.  `scored_through` is the newest hit key ever applied."""
    scored = Scored()
    states = score_states(contact)
    through = str(contact.get("scored_through") or "")
    recent = list(contact.get("scored_keys") or [])
    seen = set(recent)
    for hit in sorted(hits, key=lambda h: h.key):
        if hit.key in seen:
            continue
        seen.add(hit.key)
        recent.append(hit.key)
        through = max(through, hit.key)
        for model in defs.scores.values():
            state = states.setdefault(model.name, ScoreState())
            for change in score_hit(model, state, hit.facts, hit.at):
                scored.changes.append((hit, change))
                if crossed_hot(model, change.before, change.after):
                    scored.hot.append((hit, change))
    if recent != list(contact.get("scored_keys") or []):
        contact["scores"] = stored_scores(states)
        contact["scored_through"] = through
        contact["scored_keys"] = recent[-REMEMBERED_HITS:]
    return scored


# --- evaluation ---------------------------------------------------------------------------------
def facts_for(
    defs: Definitions,
    contact: Mapping[str, Any],
    history: History,
    now: datetime,
    bounds: RfmBounds | None,
    states: dict[str, ScoreState] | None = None,
) -> Facts:
    states = score_states(contact) if states is None else states
    return Facts(
        contact=contact,  # type: ignore[arg-type]  # read only
        now=now,
        scores={
            name: states[name].current(model, now) if name in states else 0.0
            for name, model in defs.scores.items()
        },
        visits=history.visits,
        events=history.events,
        products=products_bought(contact),
        rfm=rfm_code(bounds, contact, now.date()) if defs.timing.uses_rfm else "",
    )


def evaluate(
    defs: Definitions, contact: Mapping[str, Any], history: History, now: datetime, bounds: RfmBounds | None
) -> Evaluation:
    """Scores, grade, segments, RFM and next check: the set compiled once (see program.py)."""
    return defs.program.evaluate(contact, history, now, bounds)


def interpret(
    defs: Definitions, contact: Mapping[str, Any], history: History, now: datetime, bounds: RfmBounds | None
) -> Evaluation:
    """The reference interpreter: what `evaluate` must answer, read straight off the definitions.

    It takes every stored score, each rule's reference predicate and next_check() as
    written; the compiled program is tested (and benchmarked) against it."""
    states = score_states(contact, caps_too=False)
    facts = facts_for(defs, contact, history, now, bounds, states)
    profile = "D"
    for grade, rule in defs.profile:
        if rule.predicate(facts):
            profile = grade
            break
    model = defs.scores.get(defs.engagement or "")
    band = model.band(facts.scores.get(model.name, 0.0)) if model else 1
    facts.grade = f"{profile}{band}"
    members: set[str] = set()
    facts.segments = members  # dependency order: the ones a rule names are decided first
    for segment in defs.segments:
        if segment.rule.predicate(facts):
            members.add(segment.name)
    check_at = next_check(defs, facts, states, bounds)
    return Evaluation(facts.grade, frozenset(members), facts.rfm, facts.scores, check_at)


def next_check(
    defs: Definitions, facts: Facts, states: Mapping[str, ScoreState], bounds: RfmBounds | None
) -> datetime | None:
    """The earliest time a rule's answer can change without any new event (None: never).

    Worked in epoch seconds: this runs for every evaluation."""
    now, timing = facts.now_ts, defs.timing
    later: list[float] = []
    if timing.windows:
        times = [v.ts for v in facts.visits] + [t.timestamp() for t in facts.events.values()]
        times += [midnight(d) + DAY for d in facts.products.values()]
        times.sort()
        for window in timing.windows:
            span = window * DAY
            first_inside = bisect_right(times, now - span)  # the oldest moment still in the window
            if first_inside < len(times):
                later.append(times[first_inside] + span)  # ... leaves it then
    for name, window in timing.date_windows:
        day = iso_day(facts.contact.get(name))
        if day:
            later.append(midnight(day) + (window + 1) * DAY)
    if timing.uses_catalogue_cycles:
        for sku, day in facts.products.items():
            product = defs.catalogue.get(sku)
            due = replenishment_due_on(product, day) if product else None
            if due:
                later.append(midnight(due))
    if timing.uses_rfm:
        drop = recency_changes_at(bounds, iso_day(facts.contact.get("last_purchase_date")), facts.today)
        if drop:
            later.append(midnight(drop))
    for name, thresholds in timing.score_thresholds:
        state = states.get(name)
        if state is None or state.at is None or state.value <= 0:
            continue
        half_life, since = defs.scores[name].half_life_days * DAY, state.at.timestamp()
        for threshold in thresholds:
            if 0 < threshold < state.value:
                later.append(since + half_life * math.log2(state.value / threshold) + 1)
    upcoming = [t for t in later if t > now]
    return datetime.fromtimestamp(math.ceil(min(upcoming)), UTC) if upcoming else None


_EPOCH = date(1970, 1, 1).toordinal()


def midnight(day: date) -> float:
    """The epoch second at which `day` starts (UTC)."""
    return (day.toordinal() - _EPOCH) * DAY
