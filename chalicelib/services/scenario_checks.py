"""What a walk asks on its way through a scenario, answered from the stores: does a branch's
test hold for this person, and must a send wait (quiet hours, the frequency cap)?

The questions are `advance`'s callbacks (chalicelib/domain/journeys.py); the rules that
answer them are the domain's (segment rules, `holds.deferral`); this module only fetches
what they need, and only when they need it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo

from chalicelib.domain.contact import Contact
from chalicelib.domain.definitions.compile import Definitions
from chalicelib.domain.definitions.mailing import Journeys
from chalicelib.domain.evaluation import History, facts_for
from chalicelib.domain.holds import Hold, deferral
from chalicelib.domain.journeys import Journey, action_key
from chalicelib.domain.scenarios import MailTest, Scenario, Step
from chalicelib.domain.segments.rules import Compiled
from chalicelib.services.definitions import DefinitionsService
from chalicelib.services.ports import ContactRepository, JourneyRepository


class WalkChecks:
    def __init__(
        self, journeys: JourneyRepository, state: ContactRepository, definitions: DefinitionsService
    ) -> None:
        self._journeys = journeys
        self._state = state
        self._definitions = definitions

    def branch_test(
        self, contact: Contact, definitions: Definitions, journey: Journey, now: datetime
    ) -> Callable[[Compiled | MailTest], bool]:
        """A branch's test: a segment rule over the person's facts, or did they open/click a mail."""

        def holds(test: Compiled | MailTest) -> bool:
            if isinstance(test, MailTest):
                done = self._journeys.action(journey.contact_id, action_key(journey, test.step)) or {}
                return f"{test.did}_at" in done
            history = History()
            if test.uses_history:
                history = self._state.history(contact["contact_id"], now - timedelta(days=90))
            facts = facts_for(definitions, contact, history, now, self._definitions.in_force().rfm)
            facts.segments = frozenset(contact.get("segments") or [])
            facts.grade = str(contact.get("grade") or "")
            return test.fast(facts)

        return holds

    def send_hold(
        self, scenario: Scenario, journey: Journey, journeys: Journeys, now: datetime, zone: tzinfo
    ) -> Callable[[Step], Hold | None]:
        """Must this send wait: quiet hours, or a full cap -- unless this step's mail was claimed
        already (another tick is sending it, or sent it): then the cap is full with that very
        mail, and the walk goes on to find it a duplicate."""

        def defer(step: Step) -> Hold | None:
            return deferral(
                now,
                scenario.window,
                zone,
                journeys.cap,
                lambda: self._journeys.mail_times(journey.contact_id),
                lambda: self._journeys.action(journey.contact_id, action_key(journey, step.id)) is not None,
            )

        return defer
