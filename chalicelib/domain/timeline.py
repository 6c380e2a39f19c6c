"""A person's timeline: the entries Sodate writes there, and each entry's key.

Every entry has a sort key that begins with its time, so the timeline reads
newest first; the rest of the key is fixed by what caused the entry (the hit,
the rule, the scenario step), so a retried batch rewrites the same entry
rather than adding a second one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Recorded:
    """An entry just written to a person's timeline, as the events stream reports it."""

    contact_id: str
    key: str  # the entry's sort key
    kind: str  # pageview, event, conversion, form, purchase, points, score, hot, segment_enter, ...
    at: str
    path: str = ""
    name: str = ""
    props: Mapping[str, str] = field(default_factory=dict)
    amount: str = ""
    skus: str = ""
    points: str = ""
    score: str = ""  # a hot entry's score value
    because: str = ""
    bot: bool = False
    site: str = ""  # the site a hit came from


def stamp(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds")


def score_entry(
    hit_key: str,
    at: datetime,
    score: str,
    rule: str,
    points: float,
    before: float,
    after: float,
    because: str,
) -> dict[str, str]:
    return {
        "sk": f"{hit_key}#score#{score}#{rule}",
        "kind": "score",
        "at": stamp(at),
        "name": score,
        "rule": rule,
        "points": f"{points:g}",
        "before": f"{before:.2f}",
        "after": f"{after:.2f}",
        "because": because,
    }


def hot_entry(hit_key: str, at: datetime, score: str, value: float, because: str) -> dict[str, str]:
    return {
        "sk": f"{hit_key}#hot#{score}",
        "kind": "hot",
        "at": stamp(at),
        "name": score,
        "score": f"{value:.2f}",
        "because": because,
    }


def segment_entry(at: str, segment: str, entered: bool) -> dict[str, str]:
    kind = "segment_enter" if entered else "segment_leave"
    return {"sk": f"{at}#segment#{segment}", "kind": kind, "name": segment, "at": at}


def scenario_entry(at: datetime, kind: str, scenario: str, **fields: str) -> dict[str, str]:
    """scenario_enter, mail_sent, scenario_goal, unsubscribed, mail_delivered, ..."""
    when = stamp(at)
    entry = {"sk": f"{when}#{kind}#{scenario}#{fields.get('step', '')}", "kind": kind, "at": when}
    return entry | {"name": scenario, **fields}


def points_entry(at: datetime, action_key: str, score: str, points: float, because: str) -> dict[str, str]:
    """Points a scenario step gives; the events stream scores them like any hit, once."""
    when = stamp(at)
    return {
        "sk": f"{when}#points#{action_key.split('#', 1)[1]}",
        "kind": "points",
        "at": when,
        "name": score,
        "points": f"{points:g}",
        "because": because,
    }


def mail_entry(
    at: datetime, kind: str, action_key: str, template: str, scenario: str, step: str
) -> dict[str, str]:
    """An open or a click of a scenario mail."""
    when = stamp(at)
    return {
        "sk": f"{when}#{kind}#{action_key.split('#', 1)[1]}",
        "kind": kind,
        "at": when,
        "name": template,
        "scenario": scenario,
        "step": step,
    }
