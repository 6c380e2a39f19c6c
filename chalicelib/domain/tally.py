"""What a batch of scenario work adds up to: report counters and timeline entries, gathered
in memory and written together at the batch's end (a few calls, not one per person)."""

from __future__ import annotations

from datetime import datetime

from .timeline import scenario_entry


class Counts:
    """Report counters, one per (scenario, day, step, figure), and the batch's timeline entries."""

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

    def merge(self, other: Counts) -> None:
        """Take in what another tally gathered (a walk whose place was saved)."""
        for key, n in other.flush().items():
            self._counts[key] = self._counts.get(key, 0) + n
        self.timeline += other.timeline
        other.timeline = []

    def flush(self) -> dict[tuple[str, str, str, str], int]:
        counts, self._counts = self._counts, {}
        return counts
