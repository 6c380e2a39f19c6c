"""A definition set compiled once into one evaluation function.

`interpret` (evaluation.py) is the reference: it reads the definitions as it
goes -- every stored score, the rules' reference predicates, every kind of
time-based rule asked for anew.  A `Program` is built once per definition set
(`Definitions.program`) and does only what this set needs: the scores it
defines, the rules' fast predicates in a flat list, and a next-check that
knows in advance which clocks can tick (windows, date fields, catalogue
cycles, RFM, score thresholds) with their spans worked out.  For every contact
and moment it returns what `interpret` returns, to the last bit of every score
(tests/unit/test_fast_evaluation.py).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .commerce import (
    RFM_GROUP_OF,
    RfmBounds,
    last_purchase_day,
    orders,
    products_bought_by,
    recency_changes_at,
    rfm_code_by,
)
from .days import iso_day
from .evaluation import DAY, Evaluation, History, midnight
from .scoring import decayed
from .segments.facts import Facts

if TYPE_CHECKING:
    from .definitions.compile import Definitions

LAST_PURCHASE = "last_purchase_date"  # read once per evaluation, for RFM, products and clocks
_NEVER = math.inf


class Program:
    __slots__ = (
        "_cycles",
        "_date_fields",
        "_decaying",
        "_engagement",
        "_profile",
        "_scores",
        "_segments",
        "_spans",
        "_thresholds",
        "_uses_rfm",
    )

    def __init__(self, defs: Definitions) -> None:
        self._scores = tuple((name, model.half_life_days) for name, model in defs.scores.items())
        self._profile = tuple((grade, rule.fast) for grade, rule in defs.profile)
        model = defs.scores.get(defs.engagement or "")
        self._engagement = (model.name, model.bands) if model else None
        self._segments = tuple((segment.name, segment.rule.fast) for segment in defs.segments)
        # next_check(), taken apart once: the clocks this set has, their spans in seconds
        timing = defs.timing
        self._spans = tuple(window * DAY for window in sorted(timing.windows))
        self._date_fields = tuple((name, (window + 1) * DAY) for name, window in sorted(timing.date_windows))
        self._cycles = (
            {sku: timedelta(days=p.cycle_days) for sku, p in defs.catalogue.items() if p.cycle_days}
            if timing.uses_catalogue_cycles
            else {}
        )
        self._uses_rfm = timing.uses_rfm
        self._thresholds = tuple(
            (name, defs.scores[name].half_life_days * DAY, tuple(t for t in values if t > 0))
            for name, values in timing.score_thresholds
        )
        self._decaying = frozenset(name for name, _, _ in self._thresholds)

    def evaluate(
        self, contact: Mapping[str, Any], history: History, now: datetime, bounds: RfmBounds | None
    ) -> Evaluation:
        stored = contact.get("scores") or {}
        scores: dict[str, float] = {}
        decaying: dict[str, tuple[float, datetime]] = {}  # for the score thresholds' clock
        for name, half_life in self._scores:
            state = stored.get(name)
            if state is None or not state.get("at"):
                scores[name] = 0.0
                continue
            value, at = float(state.get("v", 0)), datetime.fromisoformat(state["at"])
            scores[name] = decayed(value, at, now, half_life)
            if name in self._decaying:
                decaying[name] = (value, at)
        today, last_day = now.date(), last_purchase_day(contact)
        products = products_bought_by(contact, last_day)
        rfm = rfm_code_by(bounds, contact, today, last_day) if self._uses_rfm else ""
        facts = Facts(
            contact,  # type: ignore[arg-type]  # read only
            now,
            scores,
            visits=history.visits,
            events=history.events,
            products=products,
            rfm=rfm,
            _orders=max(orders(contact), 1 if products else 0),
            _rfm_group=RFM_GROUP_OF[rfm],
            _today=today,
            _now_ts=now.timestamp(),
        )
        profile = "D"
        for grade, rule in self._profile:
            if rule(facts):
                profile = grade
                break
        engagement = self._engagement
        band = 1 + bisect_right(engagement[1], scores.get(engagement[0], 0.0)) if engagement else 1
        facts.grade = grade = f"{profile}{band}"
        members: set[str] = set()
        facts.segments = members  # dependency order: the ones a rule names are decided first
        add = members.add
        for name, rule in self._segments:
            if rule(facts):
                add(name)
        return Evaluation(
            grade, frozenset(members), facts.rfm, scores, self._next_check(facts, last_day, decaying, bounds)
        )

    def _next_check(
        self,
        facts: Facts,
        last_day: date | None,
        decaying: Mapping[str, tuple[float, datetime]],
        bounds: RfmBounds | None,
    ) -> datetime | None:
        """What next_check() answers -- the earliest moment after now that a rule's answer can
        change by itself -- asking only the clocks this set has."""
        now, first = facts.now_ts, _NEVER
        if self._spans:  # a visit, an event or a purchase leaving a window
            times = [visit.ts for visit in facts.visits]
            times += [at.timestamp() for at in facts.events.values()]
            times += [midnight(day) + DAY for day in facts.products.values()]
            times.sort()
            for span in self._spans:
                inside = bisect_right(times, now - span)  # the oldest moment still in the window ...
                if inside < len(times) and now < (moment := times[inside] + span) < first:
                    first = moment  # ... leaves it then
        for name, span in self._date_fields:  # a date field growing older than a window
            day = last_day if name == LAST_PURCHASE else iso_day(facts.contact.get(name))
            if day and now < (moment := midnight(day) + span) < first:
                first = moment
        if self._cycles:  # a product bought falling due again
            for sku, day in facts.products.items():
                cycle = self._cycles.get(sku)
                if cycle is not None and now < (moment := midnight(day + cycle)) < first:
                    first = moment
        if self._uses_rfm:  # the recency score dropping a step
            drop = recency_changes_at(bounds, last_day, facts.today)
            if drop and now < (moment := midnight(drop)) < first:
                first = moment
        for name, half_life, thresholds in self._thresholds:  # a score cooling below a threshold
            state = decaying.get(name)
            if state is None or state[0] <= 0:
                continue
            value, since = state[0], state[1].timestamp()
            for threshold in thresholds:
                if (
                    threshold < value
                    and now < (moment := since + half_life * math.log2(value / threshold) + 1) < first
                ):
                    first = moment
        return datetime.fromtimestamp(math.ceil(first), UTC) if first < _NEVER else None
