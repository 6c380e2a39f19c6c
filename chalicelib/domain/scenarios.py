"""Scenario definitions and one person's walk through them (issue 5, part 1: pure, not wired).

A scenario is entered (a segment, an event, or a date field), walks its steps
(send, wait, branch, split, update, notify, webhook, exit) and ends at its
goal.  Checking happens once, when the definition is given: every step id is
unique, every `next` / `then` / `else` / split branch names a step, templates
and segments exist, splits add up to 100, and no loop can run without a wait
(a loop without one would mail someone every minute).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .segments.rules import Compiled, RuleError, compile_rule

STEP_KINDS = ("send", "wait", "branch", "split", "update", "notify_sales", "webhook", "exit")
RE_ENTRY = ("never", "always")


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    spec: Any
    next: str | None  # the step after this one (None: the end)
    branches: tuple[str, ...] = ()  # where a branch or split may go


@dataclass(frozen=True)
class Scenario:
    name: str
    entry: dict[str, Any]
    re_entry: str | int  # never, always, or days before a person may enter again
    goal: dict[str, Any] | None
    steps: dict[str, Step]
    first: str
    conditions: dict[str, Compiled] = field(default_factory=dict)  # branch step id -> its rule


def parse_scenario(
    node: Any, where: str, segments: frozenset[str], templates: frozenset[str], scores: frozenset[str]
) -> Scenario:
    if not isinstance(node, Mapping):
        raise RuleError(where, "expected a mapping with name, entry and steps")
    extra = [k for k in node if k not in ("name", "description", "entry", "re_entry", "goal", "steps")]
    if extra:
        raise RuleError(
            f"{where}.{extra[0]}", "unexpected key (allowed: name, description, entry, re_entry, goal, steps)"
        )
    name = node.get("name")
    if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum():
        raise RuleError(f"{where}.name", "expected a name of letters, digits, - and _")
    entry = _trigger(node.get("entry"), f"{where}.entry", segments, allow_date=True)
    goal = _trigger(node["goal"], f"{where}.goal", segments, allow_date=False) if "goal" in node else None
    re_entry = _re_entry(node.get("re_entry", "never"), f"{where}.re_entry")
    raw_steps = node.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise RuleError(f"{where}.steps", "expected a non-empty list of steps")
    ids = [s.get("id") if isinstance(s, Mapping) else None for s in raw_steps]
    for i, step_id in enumerate(ids):
        if not isinstance(step_id, str) or not step_id:
            raise RuleError(
                f"{where}.steps[{i}].id", "every step needs an id (people inside keep their place by it)"
            )
        if ids.index(step_id) != i:
            raise RuleError(f"{where}.steps[{i}].id", f"step id {step_id!r} appears twice")
    steps: dict[str, Step] = {}
    conditions: dict[str, Compiled] = {}
    for i, raw in enumerate(raw_steps):
        following = ids[i + 1] if i + 1 < len(ids) else None
        step, condition = _step(raw, f"{where}.steps[{i}]", following, templates, segments, scores)
        steps[step.id] = step
        if condition is not None:
            conditions[step.id] = condition
    for i, step in enumerate(steps.values()):
        for target in (*((step.next,) if step.next else ()), *step.branches):
            if target not in steps:
                raise RuleError(
                    f"{where}.steps[{i}]", f"goes to {target!r}, which is not a step of this scenario"
                )
    _no_loop_without_wait(steps, f"{where}.steps", ids)
    return Scenario(name, entry, re_entry, goal, steps, str(ids[0]), conditions)


def _trigger(node: Any, where: str, segments: frozenset[str], allow_date: bool) -> dict[str, Any]:
    kinds = ["segment", "event", *(["date_field"] if allow_date else [])]
    if not isinstance(node, Mapping) or sum(k in node for k in kinds) != 1:
        raise RuleError(where, f"expected exactly one of {', '.join(kinds)}")
    if "segment" in node and node["segment"] not in segments:
        raise RuleError(f"{where}.segment", f"no segment named {node['segment']!r}")
    if "event" in node and (not isinstance(node["event"], str) or not node["event"]):
        raise RuleError(f"{where}.event", "expected an event name (purchase, a form, a custom event)")
    if "date_field" in node:
        if node["date_field"] not in ("birthday", "last_purchase_date", "first_purchase_date"):
            raise RuleError(
                f"{where}.date_field", "expected birthday, last_purchase_date or first_purchase_date"
            )
        offset = node.get("offset_days", 0)
        if isinstance(offset, bool) or not isinstance(offset, int) or not -365 <= offset <= 3650:
            raise RuleError(f"{where}.offset_days", "expected whole days from -365 to 3650")
    return dict(node)


def _re_entry(value: Any, where: str) -> str | int:
    if value in RE_ENTRY:
        return str(value)
    if isinstance(value, Mapping) and set(value) == {"after_days"}:
        days = value["after_days"]
        if not isinstance(days, bool) and isinstance(days, int) and 1 <= days <= 3650:
            return days
    raise RuleError(where, "expected never, always, or {after_days: N}")


def _step(
    raw: Any,
    where: str,
    following: str | None,
    templates: frozenset[str],
    segments: frozenset[str],
    scores: frozenset[str],
) -> tuple[Step, Compiled | None]:
    if not isinstance(raw, Mapping):
        raise RuleError(where, "expected a mapping such as {id: thanks, send: thank_you}")
    kinds = [k for k in STEP_KINDS if k in raw]
    if len(kinds) != 1:
        raise RuleError(
            where, f"expected exactly one of {', '.join(STEP_KINDS)}; got {', '.join(map(str, raw))}"
        )
    kind = kinds[0]
    extra = [k for k in raw if k not in ("id", kind, "next")]
    if extra:
        raise RuleError(f"{where}.{extra[0]}", f"unexpected key for a {kind} step")
    spec = raw[kind]
    step_next = raw.get("next", following)
    condition = None
    branches: tuple[str, ...] = ()
    if kind == "send":
        if spec not in templates:
            raise RuleError(f"{where}.send", f"no template named {spec!r}")
    elif kind == "wait":
        _wait(spec, f"{where}.wait")
    elif kind == "branch":
        if not isinstance(spec, Mapping) or set(spec) - {"if", "then", "else"} or "if" not in spec:
            raise RuleError(f"{where}.branch", "expected {if: <rule>, then: <step id>, else: <step id>}")
        condition = compile_rule(spec["if"], f"{where}.branch.if", segments, scores)
        branches = tuple(str(spec[k]) for k in ("then", "else") if k in spec)
        step_next = None if len(branches) == 2 else step_next
    elif kind == "split":
        if not isinstance(spec, Mapping) or not spec:
            raise RuleError(f"{where}.split", "expected {step id: percent, ...}")
        shares = list(spec.values())
        if (
            not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 100 for v in shares)
            or sum(shares) != 100
        ):
            raise RuleError(f"{where}.split", "the percentages must be whole numbers adding up to 100")
        branches, step_next = tuple(map(str, spec)), None
    elif kind == "exit":
        step_next = None
    return Step(str(raw["id"]), kind, spec, step_next, branches), condition


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _wait(spec: Any, where: str) -> None:
    """{days/hours/minutes}, {until_event, timeout_days}, or {until: {weekday?, time}} (contact's timezone)."""
    if not isinstance(spec, Mapping) or not spec:
        raise RuleError(
            where, "expected {days: N} (or hours, minutes), {until_event: X, timeout_days: N} or {until: ...}"
        )
    if set(spec) <= {"days", "hours", "minutes"}:
        if all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 3650 for v in spec.values()):
            return
        raise RuleError(where, "durations are whole numbers from 0 to 3650")
    if set(spec) == {"until_event", "timeout_days"}:
        days = spec["timeout_days"]
        if (
            isinstance(spec["until_event"], str)
            and isinstance(days, int)
            and not isinstance(days, bool)
            and 1 <= days <= 365
        ):
            return
        raise RuleError(where, "expected {until_event: <event>, timeout_days: 1..365}")
    if set(spec) == {"until"} and isinstance(spec["until"], Mapping):
        until = spec["until"]
        time_ok = isinstance(until.get("time"), str) and len(until["time"]) == 5 and until["time"][2] == ":"
        day_ok = until.get("weekday", "mon") in _WEEKDAYS
        if time_ok and day_ok and set(until) <= {"weekday", "time"}:
            hours, minutes = until["time"].split(":")
            if hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60:
                return
        raise RuleError(f"{where}.until", 'expected {weekday: mon..sun, time: "HH:MM"} (weekday optional)')
    raise RuleError(
        where, "expected {days: N} (or hours, minutes), {until_event: X, timeout_days: N} or {until: ...}"
    )


def _no_loop_without_wait(steps: dict[str, Step], where: str, order: list[Any]) -> None:
    """Every cycle through the steps must pass a wait."""
    moving = {
        s.id: [t for t in (*((s.next,) if s.next else ()), *s.branches)]
        for s in steps.values()
        if s.kind != "wait"
    }
    state: dict[str, int] = {}

    def visit(step_id: str, trail: list[str]) -> None:
        if step_id not in moving or state.get(step_id) == 2:
            return  # a wait (or already cleared): loops through here are paced
        if state.get(step_id) == 1:
            loop = [*trail[trail.index(step_id) :], step_id]
            raise RuleError(f"{where}[{order.index(step_id)}]", f"a loop without a wait: {' -> '.join(loop)}")
        state[step_id] = 1
        for target in moving[step_id]:
            visit(target, [*trail, step_id])
        state[step_id] = 2

    for step_id in moving:
        visit(step_id, [])


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


@dataclass(frozen=True)
class Action:
    """Something the engine must do for this person; `key` is unique per (person, scenario, step, entry)."""

    kind: str  # send, update, notify_sales, webhook, goal, exit
    step: str
    spec: Any
    key: str


@dataclass
class Walk:
    actions: list[Action]
    journey: Journey | None  # None: the person has left the scenario


def advance(
    scenario: Scenario,
    journey: Journey,
    now: datetime,
    holds: Callable[[Compiled], bool],
    goal_reached: bool = False,
) -> Walk:
    """Move one person as far as they can go now: do the steps that are due, stop at a wait."""
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
                journey.due_at = now + _duration(step.spec)
            if now < journey.due_at:
                return Walk(actions, journey)
            journey.waiting_since = None
            step_id = step.next
        elif step.kind == "branch":
            step_id = step.branches[0] if holds(scenario.conditions[step.id]) else _otherwise(step)
        elif step.kind == "split":
            step_id = _split(step, journey)
        elif step.kind == "exit":
            return Walk([*actions, _action("exit", journey, step.id, None)], None)
        else:
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


def _duration(spec: Mapping[str, Any]) -> timedelta:
    if "timeout_days" in spec:
        return timedelta(days=spec["timeout_days"])
    if "until" in spec:
        return timedelta(0)  # the weekday/time in the contact's timezone is the engine's to compute
    return timedelta(days=spec.get("days", 0), hours=spec.get("hours", 0), minutes=spec.get("minutes", 0))


def _action(kind: str, journey: Journey, step: str, spec: Any) -> Action:
    return Action(kind, step, spec, f"{journey.contact_id}#{journey.scenario}#{step}#{journey.entry}")
