"""Which channel reaches a person, and the words for what a channel answered (pure).

A person is on a channel only with an address there AND their permission for it:
- LINE: a `line_user_id` (set only by a proven account link) and `line_permission` granted
  (follow grants it; unfollow, STOP or 停止 withdraw it);
- SMS: a `phone` that is a valid number able to receive SMS (`phones.takes_sms`: in Japan,
  mobiles only), `sms_permission` granted, and the number not stopped (`opted_out`: a STOP
  reply to our number; End User Messaging SMS refuses a number on its opt-out list in the send);
- email: an address; its consent is decided where it always was, when the mail is claimed
  (`consent.refusal`, the do-not-mail list), so an email refusal is reported as before.
A `send` step naming `channels: [line, sms, email]` takes the first the person is on.

The fields are read from the contact, or from its custom attributes when the LINE inbound
flow keeps them there: either place is the same person's word.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from .contact import GRANTED, SMS_PERMISSION
from .errors import ChannelError
from .line_people import LINE_PERMISSION
from .phones import BadPhoneError, e164, takes_sms

CHANNELS = ("line", "sms", "email")
# The channels whose service says what became of each message, by the id its send was answered
# with: SES's events for mail, End User Messaging SMS's events for texts (domain/sms_receipts.py).
# LINE answers a push with 200 once it takes it and sends no receipt: accepted is counted as sent,
# and a LINE message's delivery is unknown -- never reported as 0 delivered.
RECEIPTS = ("email", "sms")
# The namespace of LINE retry keys: uuid5 of a ledger key is the same UUID on every retry.
RETRY_KEYS = uuid.UUID("5f0d7c2e-3b1a-5c8e-9a4d-6e2b1f0c7a93")


class ChannelThrottledError(ChannelError):
    """The channel would not take the message now (LINE's 429, SMS throttling, or our own limiter
    has no token left): nothing went; the step waits for a later tick."""


class ChannelRejectedError(ChannelError):
    """The channel refused this message for good (LINE's 400, an invalid number): it never goes."""


class ChannelOptedOutError(ChannelRejectedError):
    """The number is on the SMS service's opt-out list (End User Messaging SMS refused the send):
    no text goes, and the ledger says so.  A rejection, so it is never tried again."""


class Reach(NamedTuple):
    channel: str  # line, sms, email
    address: str  # the LINE user id, the E.164 number, or the email address


def field(contact: Mapping[str, Any], name: str) -> str:
    """A contact's own field.  Only the number may also come from an attribute of that name; a
    LINE user id or a permission never does: a CSV column would make one any import could grant,
    and that no STOP or unfollow (which change the person's own fields) could take back."""
    value = contact.get(name)
    if value in (None, "") and name == "phone":
        value = (contact.get("attrs") or {}).get(name)
    return str(value) if value not in (None, "") else ""


def line_reach(contact: dict[str, Any]) -> Reach | None:
    user_id = field(contact, "line_user_id")
    if user_id and field(contact, LINE_PERMISSION) == GRANTED:
        return Reach("line", user_id)
    return None


def sms_number(contact: Mapping[str, Any], country: str = "JP") -> str | None:
    """The person's number in E.164 when they may be texted (before any stop or opt-out)."""
    if field(contact, SMS_PERMISSION) != GRANTED:
        return None
    try:
        number = e164(field(contact, "phone"), country)
    except BadPhoneError:
        return None
    return number if takes_sms(number) else None


def choose(
    channels: Iterable[str],
    contact: dict[str, Any],
    opted_out: Callable[[str], bool],
    country: str = "JP",
) -> Reach | None:
    """The first channel of `channels` the person is on (None: none of them).  `opted_out`
    asks whether a number is stopped, and only when SMS is reached in the order."""
    for channel in channels:
        if channel == "line" and (found := line_reach(contact)) is not None:
            return found
        if channel == "sms":
            number = sms_number(contact, country)
            if number is not None and not opted_out(number):
                return Reach("sms", number)
        if channel == "email" and contact.get("email"):
            return Reach("email", str(contact["email"]))
    return None


def retry_key(ledger_key: str) -> str:
    """LINE's X-Line-Retry-Key for a ledger key: the same UUID however often the push is retried,
    so a push LINE accepted before a crash answers 409 on the retry and is not delivered again."""
    return str(uuid.uuid5(RETRY_KEYS, ledger_key))


def figure(channel: str, what: str) -> str:
    """A report counter of one channel: line_sent, sms_clicked, email_delivered..."""
    return f"{channel}_{what}"
