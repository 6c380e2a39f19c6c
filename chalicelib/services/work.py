"""The work queue's messages and the scheduled jobs, each handed to its use case.

The queue carries S3's notifications (a CSV to import, a definition file to
check) and Sodate's own 'carry on' messages: an import's continuation, the
re-evaluation of everyone after new definitions, the date pass going on, and an
erasure's second sweep.  A
run that cannot finish in its Lambda time queues where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from chalicelib.domain.errors import NotFoundError
from chalicelib.domain.imports import ObjectCreated
from chalicelib.logs import logger
from chalicelib.services.contacts_admin import ContactsAdmin
from chalicelib.services.definitions import DefinitionsService
from chalicelib.services.evaluation import SWEEP_RESERVE_MS, Evaluator
from chalicelib.services.import_file import Importer
from chalicelib.services.ports import Clock, WorkQueue
from chalicelib.services.scenario_dates import RESERVE_MS as DATES_RESERVE_MS
from chalicelib.services.scenario_dates import DatePass
from chalicelib.services.scenario_runner import TICK_RESERVE_MS, ScenarioRunner

JOBS = ("rfm", "sweep", "tick", "dates")
RESERVES_MS = {"sweep": SWEEP_RESERVE_MS, "tick": TICK_RESERVE_MS, "dates": DATES_RESERVE_MS}
"""Each job stops when this much of its run's time is left (the next run goes on)."""


class Work:
    def __init__(
        self,
        importer: Importer,
        definitions: DefinitionsService,
        evaluator: Evaluator,
        runner: ScenarioRunner,
        dates: DatePass,
        queue: WorkQueue,
        clock: Clock,
        contacts: ContactsAdmin,
    ) -> None:
        self._contacts = contacts
        self._importer = importer
        self._definitions = definitions
        self._evaluator = evaluator
        self._runner = runner
        self._dates = dates
        self._queue = queue
        self._clock = clock

    # --- messages ----------------------------------------------------------------------------
    def files_created(self, created: list[ObjectCreated], remaining_ms: Callable[[], int]) -> None:
        """S3 said: objects landed.  Definitions under config/ are checked; CSVs are imported."""
        for event in created:
            if event.key.startswith("config/"):
                result = self._definitions.from_bucket(event.key)
                logger.info("definition checked", extra={"file": event.key, "status": result.get("status")})
                continue
            report = self._importer.object_created(event, remaining_ms)
            if report:
                logger.info(
                    "import finished",
                    extra={"file": report.file, "status": report.status, "rows": report.counts.rows},
                )

    def continue_import(self, import_id: str, remaining_ms: Callable[[], int]) -> None:
        report = self._importer.continue_import(import_id, remaining_ms)
        if report:
            logger.info("import finished", extra={"file": report.file, "status": report.status})

    def sweep_erased(self, contact_id: str) -> None:
        swept = self._contacts.sweep_erased(contact_id)
        if swept:
            logger.info("erased history swept again", extra={"contact_id": contact_id, "deleted": swept})

    def reevaluate(self, stamp: str, start: dict[str, Any] | None, remaining_ms: Callable[[], int]) -> None:
        after = self._evaluator.reevaluate_all(stamp, start, remaining_ms)
        if after is not None:
            self._queue.reevaluate(stamp, after)

    def date_pass(self, day: date, start: dict[str, Any] | None, remaining_ms: Callable[[], int]) -> int:
        """The day's date entries; what one run cannot finish goes on through the work queue."""
        entered, after = self._dates.run(day, start, remaining_ms)
        if after is not None:
            self._queue.date_pass(day.isoformat(), after)
        return entered

    # --- scheduled jobs, also run on demand ----------------------------------------------------
    def today(self) -> date:
        return datetime.fromtimestamp(self._clock(), UTC).date()

    def run_job(self, name: str, remaining_ms: Callable[[], int]) -> dict[str, Any]:
        """`rfm` (population quintiles), `sweep` (due re-evaluations), `tick` (due scenario
        steps) or `dates` (today's birthdays and other date entries), within an API call:
        `remaining_ms` is the call's time left, all of which the job may use (its usual
        reserve for a scheduled run, RESERVES_MS, is added back)."""
        reserve = RESERVES_MS.get(name, 0)

        def within() -> int:
            return remaining_ms() + reserve

        if name == "rfm":
            return self._evaluator.refresh_rfm()
        if name == "sweep":
            return {"evaluated": self._evaluator.sweep(within)}
        if name == "tick":
            return self._runner.tick(within)
        if name == "dates":
            day = self.today()
            return {"day": day.isoformat(), "entered": self.date_pass(day, None, within)}
        raise NotFoundError(f"The jobs are {', '.join(JOBS)}.")
