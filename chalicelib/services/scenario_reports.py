"""Reports per scenario: per step, per A/B branch, and by day, with rates.

Counters are written as things happen (entered, sent, delivered, opened,
clicked, bounced, complained, unsubscribed, goal, exited...), one row per
scenario, day, step and figure; a report adds them up.  Opens and clicks are
people's, once per mail: machine opens and scanner clicks are not in them.
A step that sent on LINE or SMS has its figures per channel too (`by_channel`).
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.channel_messages import Link
from chalicelib.domain.channels import RECEIPTS
from chalicelib.domain.errors import BadInputError, NotFoundError
from chalicelib.domain.figures import day_param
from chalicelib.domain.scenarios import Step
from chalicelib.domain.short_links import short_link_like
from chalicelib.domain.tally import LIVE
from chalicelib.services.definitions import DefinitionsService
from chalicelib.services.ports import JourneyRepository

MAIL_FIGURES = ("sent", "delivered", "opened", "clicked", "bounced", "complained", "unsubscribed")
CHANNEL_WORDS = ("sent", "delivered", "failed", "clicked")
OTHER_CHANNELS = ("line", "sms")  # counted apart (line_sent, sms_clicked...); email is the rest
COUNTED = (*MAIL_FIGURES, "failed", *(f"{c}_{w}" for c in OTHER_CHANNELS for w in CHANNEL_WORDS))
RECEIPT_SOURCES = {  # where each channel's `delivered` comes from
    "email": "SES delivery events",
    "sms": "End User Messaging SMS events (TEXT_DELIVERED, TEXT_SUCCESSFUL; final failures)",
    "line": "none: LINE answers a push with 200 (counted as sent) and sends no delivery receipt",
}
RATES = {  # rate name: (numerator, denominator)
    "delivery_rate": ("delivered", "sent"),
    "open_rate": ("opened", "sent"),
    "click_rate": ("clicked", "sent"),
    "click_to_open_rate": ("clicked", "opened"),
    "bounce_rate": ("bounced", "sent"),
    "unsubscribe_rate": ("unsubscribed", "sent"),
    "goal_rate": ("goal", "entered"),
}


SHORT_LINKS = "https://abcdefghij.execute-api.ap-northeast-1.amazonaws.com/api"  # as long as the API's


class ScenarioReports:
    def __init__(
        self, definitions: DefinitionsService, journeys: JourneyRepository, short_links: str = SHORT_LINKS
    ) -> None:
        """`short_links`: the address a text's short links go under (its size is measured so)."""
        self._definitions = definitions
        self._journeys = journeys
        self._link = short_link_like(short_links)

    def scenarios(self) -> dict[str, Any]:
        """Every scenario in force, with its totals."""
        return scenario_list(self._definitions, self._journeys)

    def report(self, name: str, since: str = "", until: str = "") -> dict[str, Any]:
        """One scenario per step, per A/B branch and per day, between two days (ISO, inclusive)."""
        first = day_param(since, "since") if since else None
        last = day_param(until, "until") if until else None
        if first and last and last < first:
            raise BadInputError("until comes before since: give the earlier day as since.")
        return scenario_report(name, self._definitions, self._journeys, self._link, since, until)


def scenario_list(service: DefinitionsService, journeys: JourneyRepository) -> dict[str, Any]:
    definitions = service.in_force().definitions
    found = []
    for scenario in definitions.journeys.scenarios.values():
        totals: dict[str, int] = {}
        for day, step, figure, n in journeys.counters(scenario.name):
            if day == LIVE:  # how many are inside now
                totals["waiting"] = totals.get("waiting", 0) + n
            elif step == "-" or figure in COUNTED:
                totals[figure] = totals.get(figure, 0) + n
        found.append(
            {
                "name": scenario.name,
                "entry": scenario.entry,
                "goal": scenario.goal,
                "steps": len(scenario.steps),
                "totals": _with_rates(totals),
                "channels": by_channel(totals),
            }
        )
    return {"version": definitions.journeys.version, "scenarios": found}


def scenario_report(
    name: str,
    service: DefinitionsService,
    journeys: JourneyRepository,
    link: Link,
    since: str = "",
    until: str = "",
) -> dict[str, Any]:
    definitions = service.in_force().definitions
    scenario = definitions.journeys.scenarios.get(name)
    if scenario is None:
        raise NotFoundError(f"No scenario named {name!r}.")
    steps: dict[str, dict[str, int]] = {step_id: {} for step_id in scenario.steps}
    branches: dict[str, dict[str, int]] = {}
    days: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for day, step, figure, n in journeys.counters(name):
        if day == LIVE:  # a gauge, whatever the days asked: who is at the step now
            steps.setdefault(step, {})[figure] = n
            continue
        if (since and day < since) or (until and day > until):
            continue
        if step == "-":
            place = totals
        elif ">" in step:
            place = branches.setdefault(step, {})
        else:
            place = steps.setdefault(step, {})
        place[figure] = place.get(figure, 0) + n
        if ">" not in step and (step == "-" or figure in MAIL_FIGURES or figure == "exit"):
            by_day = days.setdefault(day, {})
            by_day[figure] = by_day.get(figure, 0) + n
        if step != "-" and ">" not in step and figure in COUNTED:
            totals[figure] = totals.get(figure, 0) + n
    return {
        "scenario": name,
        "version": definitions.journeys.version,
        "totals": _with_rates(totals),
        "channels": by_channel(totals),
        "receipts": RECEIPT_SOURCES,
        "steps": [
            {
                "step": step_id,
                "kind": scenario.steps[step_id].kind if step_id in scenario.steps else "removed",
                **(
                    {"template": scenario.steps[step_id].spec}
                    if step_id in scenario.steps and scenario.steps[step_id].kind == "send"
                    else {}
                ),
                **_paths(scenario.steps.get(step_id), link),
                **_with_rates(figures),
                **({"by_channel": used} if (used := by_channel(figures, used_only=True)) else {}),
            }
            for step_id, figures in steps.items()
        ],
        "branches": [{"branch": b, **_with_rates(f)} for b, f in sorted(branches.items())],
        "days": [{"day": d, **_with_rates(f)} for d, f in sorted(days.items())],
    }


def _paths(step: Step | None, link: Link) -> dict[str, Any]:
    """Where a step leads: `next`, and a branch's or split's ways out (by name)."""
    if step is None:
        return {}
    said = "" if step.spec is True else _said(step.spec, top=True)  # `exit: true` says nothing more
    ways: dict[str, Any] = {"next": step.next, "spec": said[:120]}
    if step.plan is not None and not step.plan.email_only:
        ways["channels"] = list(step.plan.channels)
        if step.plan.sms is not None:  # what the text costs: parts of 160/153 (GSM-7) or 70/67 (UCS-2)
            ways["sms"] = step.plan.sms.describe(link)  # its links as the short links they go as
    if step.kind == "branch":
        ways["ways"] = {way: step.spec.get(way, step.next) for way in ("then", "else")}
    elif step.kind == "split":
        ways["ways"] = {f"{name} {share}%": str(name) for name, share in step.spec.items()}
    return ways


def _said(spec: Any, top: bool = False) -> str:
    """A step's spec as its definition reads (YAML's flow style: `attrs: {path: a}`, `true`),
    not as Python prints it (`{'path': 'a'}`, `True`)."""
    if isinstance(spec, dict):
        pairs = ", ".join(f"{k}: {_said(v)}" for k, v in spec.items())
        return pairs if top else f"{{{pairs}}}"
    if isinstance(spec, list | tuple):
        return f"[{', '.join(map(_said, spec))}]"
    if isinstance(spec, bool):
        return "true" if spec else "false"
    return "null" if spec is None else str(spec)


def by_channel(figures: dict[str, int], used_only: bool = False) -> dict[str, dict[str, Any]]:
    """Sent, delivered, failed and clicked on each channel (`used_only`: the channels with any
    figure), with the click and delivery rates.  A LINE or SMS figure is counted apart as well as
    in the step's own (line_sent and sent), so email's are what is left.  A text's delivery comes
    from End User Messaging SMS's events, a mail's from SES's; LINE sends no receipt for a push
    (its 200 is counted as sent), so LINE's `delivered` is None: unknown, not 0."""
    found = {c: {w: figures.get(f"{c}_{w}", 0) for w in CHANNEL_WORDS} for c in OTHER_CHANNELS}
    found["email"] = {w: figures.get(w, 0) - sum(found[c][w] for c in OTHER_CHANNELS) for w in CHANNEL_WORDS}
    answer: dict[str, dict[str, Any]] = {}
    for channel, counted in found.items():
        if used_only and not any(counted.values()):
            continue
        shown: dict[str, Any] = dict(counted)
        if channel not in RECEIPTS:
            shown["delivered"] = None
        elif counted["sent"]:
            shown["delivery_rate"] = round(counted["delivered"] / counted["sent"], 4)
        if counted["sent"]:
            shown["click_rate"] = round(counted["clicked"] / counted["sent"], 4)
        answer[channel] = shown
    return answer


def _with_rates(figures: dict[str, int]) -> dict[str, Any]:
    answer: dict[str, Any] = dict(sorted(figures.items()))
    for rate, (top, bottom) in RATES.items():
        if figures.get(bottom):
            answer[rate] = round(figures.get(top, 0) / figures[bottom], 4)
    return answer
