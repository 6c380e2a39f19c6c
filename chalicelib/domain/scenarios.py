"""Scenario definitions and one person's walk through them (issue 5, part 1: pure, not wired).

A scenario is entered (a segment, an event, or a date field), walks its steps
(send, wait, branch, split, update, notify, webhook, exit) and ends at its
goal.  Checking happens once, when the definition is given: every step id is
unique, every `next` / `then` / `else` / split branch names a step, templates
and segments exist, splits add up to 100, and no loop can run without a wait
(a loop without one would mail someone every minute).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from .channel_messages import ChannelPlan, parse_channels
from .segments.rules import Compiled, RuleError, compile_rule
from .values import plain_digits

SEND_KINDS = ("send", "send_line", "send_sms")  # each held by quiet hours and the one frequency cap
STEP_KINDS = (
    "send",
    "send_line",
    "send_sms",
    "wait",
    "branch",
    "split",
    "update",
    "notify_sales",
    "webhook",
    "exit",
)
RE_ENTRY = ("never", "always")
_SHOWN = {"line": "LINE", "sms": "SMS"}  # channel names as a marketer reads them
SCENARIO_KEYS = ("name", "description", "entry", "re_entry", "goal", "send_window", "steps")


@dataclass(frozen=True)
class MailTest:
    """A branch on what the person did with a message of this scenario: clicked one of its links
    (a mail, a LINE message or a text), or opened it (a mail alone: nothing else tells)."""

    did: str  # opened, clicked
    step: str  # the send step whose message is asked about


@dataclass(frozen=True)
class Window:
    """Hours a scenario may mail in, in the person's timezone ("09:00"-"20:00"; over midnight allowed)."""

    start: time
    end: time

    def next_open(self, at: datetime, zone: tzinfo) -> datetime | None:
        """None when `at` is inside the window; otherwise the moment it opens next."""
        local = at.astimezone(zone)
        clock = local.time().replace(tzinfo=None)
        inside = (
            self.start <= clock < self.end
            if self.start <= self.end
            else clock >= self.start or clock < self.end
        )
        if inside:
            return None
        opens = datetime.combine(local.date(), self.start, zone)
        if opens <= local:
            opens = datetime.combine(local.date() + timedelta(days=1), self.start, zone)
        return opens.astimezone(at.tzinfo)


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    spec: Any
    next: str | None  # the step after this one (None: the end)
    branches: tuple[str, ...] = ()  # where a branch or split may go
    plan: ChannelPlan | None = None  # a send's channels, in order, and its LINE / SMS messages


@dataclass(frozen=True)
class Scenario:
    name: str
    entry: dict[str, Any]
    re_entry: str | int  # never, always, or days before a person may enter again
    goal: dict[str, Any] | None
    steps: dict[str, Step]
    first: str
    conditions: dict[str, Compiled | MailTest] = field(default_factory=dict)  # branch step id -> test
    window: Window | None = None
    version: int = 0  # the scenarios file's version this was read from


def parse_scenario(
    node: Any, where: str, segments: frozenset[str], templates: frozenset[str], scores: frozenset[str]
) -> Scenario:
    if not isinstance(node, Mapping):
        raise RuleError(where, "expected a mapping with name, entry and steps")
    extra = [k for k in node if k not in SCENARIO_KEYS]
    if extra:
        raise RuleError(f"{where}.{extra[0]}", f"unexpected key (allowed: {', '.join(SCENARIO_KEYS)})")
    name = node.get("name")
    if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum():
        raise RuleError(f"{where}.name", "expected a name of letters, digits, - and _")
    entry = _trigger(node.get("entry"), f"{where}.entry", segments, allow_date=True)
    goal = _trigger(node["goal"], f"{where}.goal", segments, allow_date=False) if "goal" in node else None
    re_entry = _re_entry(node.get("re_entry", "never"), f"{where}.re_entry")
    window = _window(node["send_window"], f"{where}.send_window") if "send_window" in node else None
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
    conditions: dict[str, Compiled | MailTest] = {}
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
    for step_id, test in conditions.items():
        if isinstance(test, MailTest):
            _asks_a_send(
                test, steps.get(test.step), f"{where}.steps[{ids.index(step_id)}].branch.if.{test.did}"
            )
    _no_loop_without_wait(steps, f"{where}.steps", ids)
    return Scenario(name, entry, re_entry, goal, steps, str(ids[0]), conditions, window)


def _asks_a_send(test: MailTest, sent: Step | None, where: str) -> None:
    """`clicked` asks any send step: a click on a LINE message's or a text's tracked link is
    recorded on the step's ledger entry as a mail's is.  `opened` asks a mail alone: LINE
    answers no read receipt and a text has none, so a person reached there could never have
    "opened" it -- the branch would send everyone on LINE or SMS down `else`.  Refused here."""
    if sent is None or sent.kind not in SEND_KINDS:
        raise RuleError(where, f"{test.step!r} is not a send step of this scenario")
    others = [_SHOWN[c] for c in sent.plan.channels if c != "email"] if sent.plan is not None else []
    if test.did == "opened" and others:
        raise RuleError(
            where,
            f"{test.step!r} may go by {' or '.join(others)}, where no one can tell whether it was "
            "opened (no read receipts): branch on clicked",
        )


def _window(node: Any, where: str) -> Window:
    if isinstance(node, Mapping) and set(node) == {"from", "to"}:
        start, end = clock_time(node["from"]), clock_time(node["to"])
        if start is not None and end is not None and start != end:
            return Window(start, end)
    raise RuleError(where, 'expected {from: "09:00", to: "20:00"} in the person\'s timezone')


def clock_time(value: Any) -> time | None:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        return None
    hours, minutes = value[:2], value[3:]
    if not (plain_digits(hours) and plain_digits(minutes) and int(hours) < 24 and int(minutes) < 60):
        return None
    return time(int(hours), int(minutes))


def _trigger(node: Any, where: str, segments: frozenset[str], allow_date: bool) -> dict[str, Any]:
    kinds = ["segment", "event", "page", *(["date_field"] if allow_date else [])]
    if not isinstance(node, Mapping) or sum(k in node for k in kinds) != 1:
        raise RuleError(where, f"expected exactly one of {', '.join(kinds)}")
    if "segment" in node and node["segment"] not in segments:
        raise RuleError(f"{where}.segment", f"no segment named {node['segment']!r}")
    if "page" in node and (not isinstance(node["page"], str) or not node["page"].startswith(("/", "*"))):
        raise RuleError(f"{where}.page", "expected a path such as /pricing or /blog/*")
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
) -> tuple[Step, Compiled | MailTest | None]:
    if not isinstance(raw, Mapping):
        raise RuleError(where, "expected a mapping such as {id: thanks, send: thank_you}")
    kinds = [k for k in STEP_KINDS if k in raw]
    if len(kinds) != 1:
        raise RuleError(
            where, f"expected exactly one of {', '.join(STEP_KINDS)}; got {', '.join(map(str, raw))}"
        )
    kind = kinds[0]
    allowed = ("id", kind, "next", *(("channels", "line", "sms") if kind == "send" else ()))
    extra = [k for k in raw if k not in allowed]
    if extra:
        raise RuleError(f"{where}.{extra[0]}", f"unexpected key for a {kind} step")
    spec = raw[kind]
    step_next = raw.get("next", following)
    condition = None
    branches: tuple[str, ...] = ()
    plan = parse_channels(raw, kind, where, templates) if kind in SEND_KINDS else None
    if kind == "wait":
        _wait(spec, f"{where}.wait")
    elif kind == "branch":
        if not isinstance(spec, Mapping) or set(spec) - {"if", "then", "else"} or "if" not in spec:
            raise RuleError(f"{where}.branch", "expected {if: <rule>, then: <step id>, else: <step id>}")
        condition = _condition(spec["if"], f"{where}.branch.if", segments, scores)
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
    elif kind == "update":
        _update(spec, f"{where}.update", scores)
    elif kind == "webhook":
        url = spec.get("url") if isinstance(spec, Mapping) else None
        if (
            set(spec if isinstance(spec, Mapping) else {"?"}) != {"url"}
            or not isinstance(url, str)
            or not (url.startswith("https://") or url.startswith("http://"))
        ):
            raise RuleError(
                f"{where}.webhook", "expected {url: https://...} (the call is signed and retried)"
            )
    elif kind == "notify_sales" and not (
        spec is True or (isinstance(spec, Mapping) and set(spec) <= {"message"})
    ):
        raise RuleError(f"{where}.notify_sales", "expected true or {message: ...}")
    return Step(str(raw["id"]), kind, spec, step_next, branches, plan), condition


def _update(spec: Any, where: str, scores: frozenset[str]) -> None:
    """{attrs: {field: value}} or {score: name, points: N}."""
    if isinstance(spec, Mapping) and set(spec) == {"attrs"} and isinstance(spec["attrs"], Mapping):
        if spec["attrs"] and all(isinstance(v, (str, int, float)) for v in spec["attrs"].values()):
            return
    elif isinstance(spec, Mapping) and set(spec) == {"score", "points"}:
        if spec["score"] not in scores:
            raise RuleError(f"{where}.score", f"no score named {spec['score']!r}")
        points = spec["points"]
        if isinstance(points, (int, float)) and not isinstance(points, bool) and -1000 <= points <= 1000:
            return
    raise RuleError(where, "expected {attrs: {field: value}} or {score: <name>, points: -1000..1000}")


def _condition(
    node: Any, where: str, segments: frozenset[str], scores: frozenset[str]
) -> Compiled | MailTest:
    """A segment rule, or {opened: <send step>} / {clicked: <send step>}."""
    if isinstance(node, Mapping) and len(node) == 1 and next(iter(node)) in ("opened", "clicked"):
        ((did, step),) = node.items()
        return MailTest(str(did), str(step))
    return compile_rule(node, where, segments, scores)


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


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
        day_ok = until.get("weekday", "mon") in WEEKDAYS
        if clock_time(until.get("time")) is not None and day_ok and set(until) <= {"weekday", "time"}:
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
