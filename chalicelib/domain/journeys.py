"""One person's walk through a scenario (pure): due steps done, waits timed, branches taken.

The engine keeps a `Journey` per person and scenario and calls `advance` when
it is due; the `Action`s it returns carry a key unique per (person, scenario,
step, entry), which is what makes every mail go out once.
"""

from __future__ import annotations

import hashlib
from calendar import isleap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .days import iso_day
from .holds import Hold
from .scenarios import SEND_KINDS, WEEKDAYS, MailTest, Scenario, Step, clock_time
from .segments.patterns import Glob
from .segments.rules import Compiled

# --- walking a scenario (pure) ----------------------------------------------------------------------
MAX_STEPS_PER_ADVANCE = 100  # no loop runs without a wait, so a walk always stops well before this


@dataclass
class Journey:
    """One person's place in one scenario: which step, since when, and when to look again."""

    scenario: str
    contact_id: str
    entry: int  # 1 for the first time in, 2 after a re-entry, ...
    step: str
    due_at: datetime
    waiting_since: datetime | None = None
    waiting_for: str | None = None  # an event that ends the current wait early
    branches: dict[str, str] = field(default_factory=dict)  # split step -> the branch taken


@dataclass
class Place:
    """A journey as stored: the walk's state, plus what the engine needs around it."""

    journey: Journey
    email: str
    version: int  # of scenarios.yaml the person walks under
    status: str = "active"  # active, goal, exited, left
    rev: int = 0
    entered_at: float = 0.0
    ended_at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True)
class Action:
    """Something the engine must do for this person; `key` is unique per (person, scenario, step, entry)."""

    kind: str  # send, update, notify_sales, webhook, goal, exit
    step: str
    spec: Any
    key: str
    scenario: str = ""


@dataclass(frozen=True)
class Task:
    """Work for later in the due index: a webhook to retry, a mail to resend after a soft bounce."""

    contact_id: str
    name: str  # "<kind>#<action key without the contact>", e.g. webhook#welcome#hook#1
    due_at: float
    data: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.name.split("#", 1)[0]


def key_parts(key: str) -> tuple[str, str, str]:
    """(contact id, scenario, step) of an action key `contact#scenario#step#entry[...]`."""
    contact_id, scenario, step = [*key.split("#"), "", ""][:3]
    return contact_id, scenario, step


@dataclass
class Walk:
    actions: list[Action]
    journey: Journey | None  # None: the person has left the scenario
    held: Hold | None = None  # the send the person waits at (on `journey.step`), and why


def advance(
    scenario: Scenario,
    journey: Journey,
    now: datetime,
    holds: Callable[[Compiled | MailTest], bool],
    goal_reached: bool = False,
    zone: tzinfo = UTC,
    defer: Callable[[Step], Hold | None] = lambda step: None,
    event_seen: bool = False,
) -> Walk:
    """Move one person as far as they can go now: do the steps that are due, stop at a wait.

    `defer` may hold a send back (quiet hours, the frequency cap): the person stays on that
    step until the hold's `retry_at`, and the walk says why (`Walk.held`); the place is not
    due again before then.  `event_seen` ends a wait for an event early."""
    actions: list[Action] = []
    if goal_reached:
        return Walk([_action("goal", journey, journey.step, scenario.goal)], None)
    step_id: str | None = journey.step
    for _ in range(MAX_STEPS_PER_ADVANCE):
        if step_id is None:
            return Walk([*actions, _action("exit", journey, journey.step, None)], None)
        step = scenario.steps[step_id]
        journey.step = step_id
        if step.kind == "wait":
            if journey.waiting_since is None:
                journey.waiting_since = now
                journey.due_at = _wait_until(step.spec, now, zone)
                journey.waiting_for = step.spec.get("until_event")
            elif event_seen and journey.waiting_for:
                journey.due_at = now
            if now < journey.due_at:
                return Walk(actions, journey)
            journey.waiting_since = journey.waiting_for = None
            event_seen = False
            step_id = step.next
        elif step.kind == "branch":
            step_id = step.branches[0] if holds(scenario.conditions[step.id]) else _otherwise(step)
        elif step.kind == "split":
            step_id = journey.branches[step.id] = _split(step, journey)
        elif step.kind == "exit":
            return Walk([*actions, _action("exit", journey, step.id, None)], None)
        else:
            hold = defer(step) if step.kind in SEND_KINDS else None
            if hold is not None and hold.retry_at is not None and hold.retry_at > now:
                journey.due_at = hold.retry_at
                return Walk(actions, journey, hold)
            actions.append(_action(step.kind, journey, step.id, step.spec))
            step_id = step.next
    raise RuntimeError(f"scenario {scenario.name}: no wait within {MAX_STEPS_PER_ADVANCE} steps")


def _otherwise(step: Step) -> str | None:
    return step.branches[1] if len(step.branches) > 1 else step.next


def _split(step: Step, journey: Journey) -> str:
    """The same person always takes the same branch of the same split (a stable hash, not chance)."""
    digest = hashlib.blake2b(f"{journey.scenario}\0{journey.contact_id}\0{step.id}".encode(), digest_size=4)
    point = int.from_bytes(digest.digest(), "big") % 100
    for branch, share in step.spec.items():
        if point < share:
            return str(branch)
        point -= share
    return str(list(step.spec)[-1])


def _wait_until(spec: Mapping[str, Any], now: datetime, zone: tzinfo) -> datetime:
    if "timeout_days" in spec:
        return now + timedelta(days=spec["timeout_days"])
    if "until" in spec:  # the next such weekday and time in the person's timezone
        until = spec["until"]
        at = clock_time(until["time"]) or time(0)
        local = now.astimezone(zone)
        moment = datetime.combine(local.date(), at, zone)
        if "weekday" in until:
            moment += timedelta(days=(WEEKDAYS.index(until["weekday"]) - local.weekday()) % 7)
        if moment <= local:
            moment += timedelta(days=7 if "weekday" in until else 1)
        return moment.astimezone(now.tzinfo)
    return now + timedelta(
        days=spec.get("days", 0), hours=spec.get("hours", 0), minutes=spec.get("minutes", 0)
    )


def action_key(journey: Journey, step: str) -> str:
    """The ledger's key of a step's action: once per person, scenario, step and entry."""
    return f"{journey.contact_id}#{journey.scenario}#{step}#{journey.entry}"


def _action(kind: str, journey: Journey, step: str, spec: Any) -> Action:
    return Action(kind, step, spec, action_key(journey, step), journey.scenario)


# --- entering on a date (birthday, N days after a purchase) ---------------------------------------
def occasion(
    trigger: Mapping[str, Any], value: Any, since: datetime, until: datetime, zone: tzinfo
) -> date | None:
    """The person's local date whose midnight falls in [since, until) when it is their occasion.

    A birthday comes back every year (29 February is kept on the 28th in other years);
    a purchase date once.  `offset_days` moves the occasion: -7 is a week before, 30 a
    month after.  A daily pass over a 24-hour window so meets every local date once."""
    stored = iso_day(value)
    if stored is None:
        return None
    offset = timedelta(days=int(trigger.get("offset_days", 0)))
    first = since.astimezone(zone).date()
    for local in (first, first + timedelta(days=1)):
        midnight = datetime.combine(local, time(0), zone)
        if not since <= midnight < until:
            continue
        meant = local - offset
        if trigger.get("date_field") == "birthday":
            if (stored.month, stored.day) == (meant.month, meant.day) or (
                (stored.month, stored.day) == (2, 29)
                and not isleap(meant.year)
                and (meant.month, meant.day) == (2, 28)
            ):
                return local
        elif stored == meant:
            return local
    return None


# --- entering and reaching goals on signals (segment entries, events, pages) -------------------------
def triggered(trigger: Mapping[str, Any], signals: list[tuple[str, str]]) -> bool:
    """Does a scenario's entry or goal fire on these (kind, name) signals?"""
    if "segment" in trigger:
        return ("segment_enter", trigger["segment"]) in signals
    if "event" in trigger:
        return any(kind != "pageview" and trigger["event"] in (kind, name) for kind, name in signals)
    if "page" in trigger:
        glob = Glob(trigger["page"])
        return any(kind == "pageview" and glob.match(name) for kind, name in signals)
    return False


def zone_of(name: Any, fallback: str) -> tzinfo:
    """The person's time zone, else the scenarios' default, else UTC (a bad name is skipped)."""
    for candidate in (name, fallback):
        if isinstance(candidate, str) and candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return UTC
