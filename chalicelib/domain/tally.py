"""What a batch of scenario work adds up to: report counters and timeline entries, gathered
in memory and written together at the batch's end (a few calls, not one per person)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .channels import figure as channel_figure
from .holds import HELD
from .timeline import scenario_entry

LIVE = "live"  # the "day" of the counters that are gauges: how many people are at a step now
WAITING = "waiting"


class Counts:
    """Report counters, one per (scenario, day, step, figure), and the batch's timeline entries.
    Besides the day's figures, (scenario, LIVE, step, WAITING) counts who is at each step now:
    +1 as a person arrives, -1 as they leave it."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, str, str], int] = {}
        self.timeline: list[tuple[str, dict[str, str]]] = []

    def note(self, contact_id: str, at: datetime, kind: str, scenario: str, **fields: str) -> None:
        self.timeline.append((contact_id, scenario_entry(at, kind, scenario, **fields)))

    def add(self, scenario: str, at: datetime, step: str, figure: str, branch: str = "") -> None:
        """Count at the step, and at each split branch the person took ("split>branch"),
        so every A/B branch has its own sends, opens, clicks and goals."""
        day = at.date().isoformat()
        for where in (step, *(b for b in branch.split(",") if b)):
            key = (scenario, day, where, figure)
            self._counts[key] = self._counts.get(key, 0) + 1

    def add_to_send(
        self, scenario: str, at: datetime, step: str, figure: str, sent: Mapping[str, str]
    ) -> None:
        """A figure of one send (delivered, clicked...), as its ledger entry `sent` says it went:
        at its step and split branches, and apart too when it went on LINE or SMS (line_clicked)."""
        branch = sent.get("branch", "")
        self.add(scenario, at, step, figure, branch)
        if sent.get("channel") in ("line", "sms"):  # email's own figures are the rest of the step's
            self.add(scenario, at, step, channel_figure(sent["channel"], figure), branch)

    def moved(self, scenario: str, left: str | None, arrived: str | None) -> None:
        """A person left one step (None: they just entered) for another (None: they are out)."""
        if left == arrived:
            return
        for step, n in ((left, -1), (arrived, 1)):
            if step is not None:
                key = (scenario, LIVE, step, WAITING)
                self._counts[key] = self._counts.get(key, 0) + n

    def merge(self, other: Counts) -> None:
        """Take in what another tally gathered (a walk whose place was saved)."""
        for key, n in other.flush().items():
            self._counts[key] = self._counts.get(key, 0) + n
        self.timeline += other.timeline
        other.timeline = []

    def flush(self) -> dict[tuple[str, str, str, str], int]:
        counts, self._counts = self._counts, {}
        return counts


@dataclass
class Ticked:
    """A tick's answer: people walked, tasks run, and the mails sent and held (by reason) --
    read off the timeline entries its walks wrote, so it says what the timelines say."""

    walked: int = 0
    tasks: int = 0
    sent: int = 0
    held: dict[str, int] = field(default_factory=dict)

    def saw(self, entries: list[tuple[str, dict[str, str]]]) -> None:
        for _, entry in entries:
            if entry["kind"] in ("mail_sent", "line_sent", "sms_sent"):
                self.sent += 1
            elif entry["kind"] == HELD:
                self.held[entry["reason"]] = self.held.get(entry["reason"], 0) + 1

    def merge(self, other: Ticked) -> None:
        self.walked += other.walked
        self.tasks += other.tasks
        self.sent += other.sent
        for reason, n in other.held.items():
            self.held[reason] = self.held.get(reason, 0) + n

    def answer(self) -> dict[str, Any]:
        return {
            "walked": self.walked,
            "tasks": self.tasks,
            "sent": self.sent,
            "held": dict(sorted(self.held.items())),
        }
