"""What became of a scenario's texts: End User Messaging SMS's delivery events, counted.

An event names the text by the message id its send was answered with; the ledger maps that id
back to the send (the store's `by_message`), and the step counts `delivered` or `failed` -- and
`sms_delivered` / `sms_failed` apart -- once per text, however often or late the event comes:
  - a text is delivered or failed by the first final word on it, never both;
  - TEXT_QUEUED, TEXT_PENDING and a failure not yet final count nothing;
  - an id no scenario send has (a text sent another way, a send too old for the ledger) is
    logged and dropped: there is nothing to count it against.
The events arrive on the feedback queue, from an SNS event destination of the configuration set
the texts are sent with (README, "Sending on LINE and SMS").
"""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain.journeys import key_parts
from chalicelib.domain.sms_receipts import DELIVERED, FAILED, SmsReceipt
from chalicelib.domain.tally import Counts
from chalicelib.logs import logger
from chalicelib.services.ports import Clock, JourneyRepository
from chalicelib.services.scenario_actions import Actions

OUTCOMES = (DELIVERED, FAILED)


class SmsReceipts:
    def __init__(self, journeys: JourneyRepository, actions: Actions, clock: Clock) -> None:
        self._journeys = journeys
        self._actions = actions
        self._clock = clock

    def receive(self, receipt: SmsReceipt) -> bool:
        """True when the event counted (the text's first final word); False for anything else."""
        if not receipt.outcome:
            return False
        found = self._journeys.by_message("sms", receipt.message_id)
        if found is None:
            logger.info("an SMS event for no scenario text", extra={"type": receipt.event_type})
            return False
        contact_id, key = found
        sent = self._journeys.action(contact_id, key) or {}
        if any(f"{outcome}_at" in sent for outcome in OUTCOMES):
            return False  # its fate was told before (this word again, or the other one)
        _, scenario, step = key_parts(key)
        now = datetime.fromtimestamp(self._clock(), UTC)
        counts = Counts()
        counts.add_to_send(scenario, now, step, receipt.outcome, sent)
        at = now.isoformat(timespec="seconds")
        if not self._journeys.count_once(contact_id, key, f"{receipt.outcome}_at", at, counts.flush()):
            return False  # the same event, counted meanwhile by another worker
        fields = {"step": step} | ({"status": receipt.status} if receipt.outcome == FAILED else {})
        self._actions.timeline(contact_id, now, f"sms_{receipt.outcome}", scenario, **fields)
        return True
