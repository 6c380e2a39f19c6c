"""The due index's work besides people: a webhook to call again, a mail to resend after a soft
bounce.  A task is taken before it is done, so one run does it; when its channel is busy it is put
back for the next tick and the run stops, as a walk does; when it fails otherwise it is put back
later, and after a few such tries it is given up, logged with everything it held.  No task is
lost to a throttled mail service or a crash half-way: each send is claimed in the ledger, so a
task done twice still mails once."""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.channels import ChannelThrottledError
from chalicelib.domain.journeys import Action, Task, key_parts
from chalicelib.logs import logger
from chalicelib.services.definitions import DefinitionsService
from chalicelib.services.mailer import Mailer, MailServiceBusyError
from chalicelib.services.ports import ContactRepository, JourneyRepository
from chalicelib.services.scenario_actions import Actions

BUSY_RETRY_S = 60  # the next tick
FAILED_RETRY_MINUTES = (5, 30, 120)  # then given up


class TaskRunner:
    def __init__(
        self,
        journeys: JourneyRepository,
        state: ContactRepository,
        definitions: DefinitionsService,
        mailer: Mailer,
        actions: Actions,
    ) -> None:
        self._journeys = journeys
        self._state = state
        self._definitions = definitions
        self._mailer = mailer
        self._actions = actions

    def run(self, tasks: list[Task], now: datetime) -> int:
        """The tasks done; MailServiceBusyError or ChannelThrottledError when a channel keeps
        throttling (that task is put back, and the ones after it were never taken)."""
        done = 0
        for task in tasks:
            if not self._journeys.finish_task(task):
                continue  # another run took it
            try:
                self._do(task, now)
            except (MailServiceBusyError, ChannelThrottledError):
                self._journeys.schedule(task.contact_id, task.name, now.timestamp() + BUSY_RETRY_S, task.data)
                raise
            except Exception:
                self._again_later(task, now)
            done += 1
        return done

    def _do(self, task: Task, now: datetime) -> None:
        contact_id, data = task.contact_id, task.data
        if task.kind == "webhook":
            self._actions.webhook(contact_id, data, now)
        elif task.kind == "resend":
            contact = self._state.by_id(contact_id)
            if contact is not None:
                action = Action(
                    "send", data["step"], data["template"], data["key"], key_parts(data["key"])[1]
                )
                mailing = self._definitions.in_force().definitions.mailing
                if action.spec in mailing.templates:
                    self._mailer.send(action, contact, mailing, now, "", resend=True)

    def _again_later(self, task: Task, now: datetime) -> None:
        failures = int(task.data.get("failures", 0))
        about = {
            "contact_id": task.contact_id,
            "task": task.name,
            "data": task.data,
            "failures": failures + 1,
        }
        if failures >= len(FAILED_RETRY_MINUTES):
            logger.exception("a task kept failing and is given up", extra=about)
            return
        logger.exception("a task failed; it is tried again later", extra=about)
        due = now.timestamp() + FAILED_RETRY_MINUTES[failures] * 60
        self._journeys.schedule(task.contact_id, task.name, due, task.data | {"failures": failures + 1})
