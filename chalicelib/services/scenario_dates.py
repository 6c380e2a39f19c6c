"""Entering scenarios on a date: birthdays, N days after the first or last purchase.

Once a day (00:00 UTC, or `POST /admin/jobs/dates`) one pass reads the
contacts holding a date field some scenario enters on, a page at a time, and
enters each person whose occasion is their next local date to begin within the
day: a person in Tokyo enters at midnight Tokyo time, one in New York at
midnight New York time, and the scenario's send window then holds the mail for
the morning.  A pass that runs out of time hands where it stopped to the work
queue; a pass run twice for the same day enters nobody twice (the place keeps
the occasion's date).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from chalicelib.domain.journeys import occasion, zone_of
from chalicelib.domain.tally import Counts
from chalicelib.services.definitions import DefinitionsService
from chalicelib.services.ports import ContactRepository, JourneyRepository
from chalicelib.services.scenario_runner import ScenarioRunner

RESERVE_MS = 30_000
PAGE = 1000  # contacts read per scan call


class DatePass:
    def __init__(
        self,
        runner: ScenarioRunner,
        state: ContactRepository,
        journeys: JourneyRepository,
        definitions: DefinitionsService,
    ) -> None:
        self._runner = runner
        self._state = state
        self._journeys = journeys
        self._definitions = definitions

    def run(
        self, day: date, start: dict[str, Any] | None, remaining_ms: Callable[[], int] = lambda: 10**9
    ) -> tuple[int, dict[str, Any] | None]:
        """People entered on `day`'s pass, and where the scan goes on (None: done)."""
        journeys = self._definitions.in_force().definitions.journeys
        dated = [s for s in journeys.scenarios.values() if "date_field" in s.entry]
        if not dated:
            return 0, None
        since = datetime.combine(day, time(0), UTC)
        until = since + timedelta(days=1)
        fields = sorted({str(s.entry["date_field"]) for s in dated})
        entered = 0
        while True:
            page, start = self._state.dated(fields, start, PAGE)
            counts = Counts()
            for contact in page:
                zone = zone_of(contact.get("timezone"), journeys.timezone)
                due = [
                    (scenario, found)
                    for scenario in dated
                    if (
                        found := occasion(
                            scenario.entry, contact.get(scenario.entry["date_field"]), since, until, zone
                        )
                    )
                ]
                if not due:
                    continue
                places = {p.journey.scenario: p for p in self._journeys.places_of(contact["contact_id"])}
                for scenario, local in due:
                    at = datetime.combine(local, time(0), zone).astimezone(UTC)
                    if self._runner.enter(
                        scenario,
                        contact,
                        places.get(scenario.name),
                        at,
                        journeys.version,
                        counts,
                        local.isoformat(),
                    ):
                        entered += 1
            self._runner.write(counts)
            if start is None or remaining_ms() < RESERVE_MS:
                return entered, start
