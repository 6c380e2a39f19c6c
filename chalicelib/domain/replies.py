"""A reply that asks for no more messages, on any channel that takes replies (LINE, SMS).

Carriers treat a reply of STOP as an opt-out, and AWS's SMS service keeps its own opt-out list
from it; Japanese senders also read 停止 and 配信停止.  Only a reply that is the word alone counts
(any case or width, spaces and closing punctuation aside): "stop by the shop tomorrow?" is not
an opt-out, "STOP" and "停止。" are.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any, NamedTuple

from .errors import BadInputError

STOP_WORDS = frozenset(
    {
        "stop",
        "stopall",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "停止",
        "配信停止",
        "ストップ",
        "解除",
        "配信解除",
    }
)


def asks_to_stop(text: str) -> bool:
    word = unicodedata.normalize("NFKC", text or "").strip().strip("。.!！?？ ").casefold()
    return word in STOP_WORDS


class SmsReply(NamedTuple):
    """A text a person sent to our number, as AWS End User Messaging SMS hands it to the SNS
    topic of two-way SMS (its documented payload: originationNumber, messageBody,
    inboundMessageId, ...)."""

    number: str  # theirs, E.164 as the service writes it
    text: str
    message_id: str


def is_sms_reply(message: Mapping[str, Any]) -> bool:
    return "originationNumber" in message and "messageBody" in message


def sms_reply(message: Mapping[str, Any]) -> SmsReply:
    """The reply, checked: BadInputError naming what is missing or wrong."""
    number, text, message_id = (
        message.get(k) for k in ("originationNumber", "messageBody", "inboundMessageId")
    )
    if not isinstance(number, str) or not number.startswith("+") or len(number) > 16:
        raise BadInputError("An SMS reply needs originationNumber, a number in E.164 (+81...).")
    if not isinstance(text, str) or len(text) > 1600:
        raise BadInputError("An SMS reply needs messageBody, a text of at most 1,600 characters.")
    return SmsReply(number, text, message_id if isinstance(message_id, str) else "")
