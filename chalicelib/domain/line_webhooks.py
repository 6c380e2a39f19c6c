"""What LINE tells us about people, read only when LINE provably said it.

LINE signs each webhook: `X-Line-Signature` is the base64 HMAC-SHA256 of the raw body under the
channel secret.  A body whose signature does not match -- forged, altered, unsigned, or signed
for another channel -- is refused whole, before anything in it is read.  Of a signed body, the
events Sodate acts on are kept, each checked: follow and unfollow (LINE permission given and
taken back), a message (STOP / 停止 withdraws it too), and accountLink (the only way a LINE user
becomes one of our contacts: the nonce we issued comes back with `result: ok`).  Events of
groups and rooms, and kinds Sodate does not act on, are skipped.  LINE may deliver an event
again (`deliveryContext.isRedelivery`); `webhookEventId` names it, so it is acted on once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any, NamedTuple

from .errors import BadInputError
from .limits import loads

MOST_BYTES = 256 * 1024  # LINE batches events; far more than it sends in one delivery
KINDS = frozenset({"follow", "unfollow", "message", "accountLink"})
_USER = re.compile(r"U[0-9a-f]{32}\Z")
_EVENT_ID = re.compile(r"[0-9A-Za-z]{1,64}\Z")
_NONCE = re.compile(r"[0-9A-Za-z_-]{10,255}\Z")
TEXT_KEPT = 300  # of a message's text: enough to read STOP, never the whole conversation


class BadSignatureError(BadInputError):
    """The body is not what the channel signed."""


class LineEvent(NamedTuple):
    kind: str  # follow, unfollow, message, accountLink
    user_id: str
    event_id: str  # webhookEventId: the same event delivered again has the same one
    at_ms: int
    redelivery: bool = False
    text: str = ""  # a text message's first TEXT_KEPT characters
    nonce: str = ""  # accountLink: the nonce we issued
    linked: bool = False  # accountLink: LINE says the link succeeded


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode("ascii")


def verified(secret: str, body: bytes, signed: str | None) -> None:
    """BadSignatureError unless `signed` is the channel's signature of exactly these bytes."""
    if not secret:
        raise BadSignatureError("No channel secret is configured: no webhook is trusted.")
    if len(body) > MOST_BYTES:
        raise BadSignatureError(f"The body is over {MOST_BYTES} bytes.")
    if not signed or not hmac.compare_digest(signature(secret, body), signed.strip()):
        raise BadSignatureError("X-Line-Signature does not match the body: nothing in it is read.")


def events(secret: str, body: bytes, signed: str | None) -> list[LineEvent]:
    """The events of a signed webhook body that Sodate acts on, checked."""
    verified(secret, body, signed)
    try:
        payload: Any = loads(body, "the webhook body")
    except ValueError as error:
        raise BadInputError(f"The webhook body is not JSON: {error}") from None
    found = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(found, list):
        raise BadInputError("The webhook body has no events list.")
    return [event for event in map(_event, found) if event is not None]


def _event(raw: Any) -> LineEvent | None:
    if not isinstance(raw, dict) or raw.get("type") not in KINDS:
        return None
    source = raw.get("source")
    user = source.get("userId") if isinstance(source, dict) and source.get("type") == "user" else None
    event_id, at = raw.get("webhookEventId"), raw.get("timestamp")
    if not (isinstance(user, str) and _USER.match(user)):
        return None
    if not (isinstance(event_id, str) and _EVENT_ID.match(event_id)) or not isinstance(at, int):
        return None
    context = raw.get("deliveryContext")
    again = isinstance(context, dict) and context.get("isRedelivery") is True
    event = LineEvent(raw["type"], user, event_id, at, again)
    if event.kind == "message":
        message = raw.get("message")
        text = message.get("text") if isinstance(message, dict) and message.get("type") == "text" else ""
        return event._replace(text=str(text or "")[:TEXT_KEPT])
    if event.kind == "accountLink":
        link: Any = raw.get("link")
        nonce = link.get("nonce") if isinstance(link, dict) else None
        if not (isinstance(nonce, str) and _NONCE.match(nonce)):
            return None
        return event._replace(nonce=nonce, linked=link.get("result") == "ok")
    return event
