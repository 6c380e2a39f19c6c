"""What became of a text: AWS End User Messaging SMS's delivery events, read (pure).

The format is the one published in the AWS End User Messaging SMS User Guide, "Example event
data" (configuration-sets-event-format) and "Event types for SMS, MMS, and voice"
(configuration-sets-event-types): a JSON object with `eventType` (TEXT_DELIVERED, ...),
`isFinal`, `messageId` (the id the send was answered with), `messageStatus`, ... -- as an SNS
event destination publishes it, or as the `detail` of EventBridge's "Text Message Delivery Status
Updated" event (source `aws.sms-voice`, "Monitoring with EventBridge").

- TEXT_DELIVERED and TEXT_SUCCESSFUL say delivered: AWS uses them interchangeably, depending on
  the destination country (the carrier accepted it, or the handset did);
- TEXT_QUEUED and TEXT_PENDING say nothing yet;
- the failures (blocked, expired, unreachable, invalid, spam, unknown...) count only once final
  (`isFinal`): a carrier unreachable for a while may still deliver, and after 72 hours without a
  carrier's word the service itself answers a final TEXT_UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from .errors import BadInputError

DELIVERED = "delivered"
FAILED = "failed"
DELIVERED_TYPES = frozenset({"TEXT_DELIVERED", "TEXT_SUCCESSFUL"})
PENDING_TYPES = frozenset({"TEXT_QUEUED", "TEXT_PENDING"})
FAILED_TYPES = frozenset(
    {
        "TEXT_BLOCKED",
        "TEXT_TTL_EXPIRED",
        "TEXT_CARRIER_UNREACHABLE",
        "TEXT_INVALID",
        "TEXT_INVALID_MESSAGE",
        "TEXT_CARRIER_BLOCKED",
        "TEXT_UNREACHABLE",
        "TEXT_SPAM",
        "TEXT_UNKNOWN",
        "TEXT_PROTECT_BLOCKED",
    }
)
EVENTBRIDGE_SOURCE = "aws.sms-voice"


class SmsReceipt(NamedTuple):
    message_id: str  # as the send was answered (the ledger keeps it as `message_id`)
    event_type: str
    outcome: str  # delivered, failed, or "" (not yet known)
    status: str  # the service's messageStatus, for the log


def is_sms_receipt(message: Mapping[str, Any]) -> bool:
    event = _event(message)
    return str(event.get("eventType", "")).startswith("TEXT_") and "messageId" in event


def sms_receipt(message: Mapping[str, Any]) -> SmsReceipt:
    """The event, checked: BadInputError naming what is missing or wrong."""
    event = _event(message)
    message_id, event_type = event.get("messageId"), event.get("eventType")
    if not isinstance(message_id, str) or not 0 < len(message_id) <= 100:
        raise BadInputError("An SMS event needs messageId, the id of the text (at most 100 characters).")
    if not isinstance(event_type, str) or len(event_type) > 60:
        raise BadInputError("An SMS event needs eventType, such as TEXT_DELIVERED.")
    final = event.get("isFinal") is True
    if event_type in DELIVERED_TYPES:
        outcome = DELIVERED
    elif event_type in FAILED_TYPES and final:
        outcome = FAILED
    else:  # queued, pending, a failure that may yet turn out well, or a type published later
        outcome = ""
    return SmsReceipt(message_id, event_type, outcome, str(event.get("messageStatus", ""))[:60])


def _event(message: Mapping[str, Any]) -> Mapping[str, Any]:
    """The event itself, out of EventBridge's envelope when it came that way."""
    detail = message.get("detail")
    if message.get("source") == EVENTBRIDGE_SOURCE and isinstance(detail, Mapping):
        return detail
    return message
