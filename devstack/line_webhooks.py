"""The webhooks the LINE stand-in posts to the bot server, as the LINE Platform posts them.

Followed: https://developers.line.biz/en/reference/messaging-api/#webhooks ("Request body",
"Signature validation", "Webhook Event Objects": common properties, message/follow/unfollow/
account link events) and https://developers.line.biz/en/docs/messaging-api/receiving-messages/
(redelivered webhooks carry `deliveryContext.isRedelivery: true`; the event keeps its
`webhookEventId` and `timestamp`, the time the event happened).

The body is `{"destination": <the bot's user id>, "events": [...]}`, each event with `type`,
`mode: "active"`, `timestamp` (ms), `source {type: user, userId}`, `webhookEventId` (a ULID),
`deliveryContext {isRedelivery}`, a `replyToken` where the event can be replied to (message,
follow, account link when it succeeded); `x-line-signature` is base64(HMAC-SHA256(channel secret,
the raw body)).  For tests a webhook can be sent with a wrong signature or none.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from typing import Any

from devstack.line_channel import Channel

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
FORGERIES = ("wrong", "missing")


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def ulid(at_ms: int | None = None) -> str:
    """A ULID: 48 bits of milliseconds then 80 random bits, in Crockford's base32."""
    stamp = int(time.time() * 1000) if at_ms is None else at_ms
    value = (stamp << 80) | secrets.randbits(80)
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def message_id() -> str:
    return str(secrets.randbelow(9 * 10**17) + 10**17)


def event(kind: str, user_id: str | None, now_s: float, replyable: bool, **fields: Any) -> dict[str, Any]:
    """One webhook event object of a one-to-one chat with `user_id`."""
    at_ms = int(now_s * 1000)
    found: dict[str, Any] = {"type": kind, "mode": "active", "timestamp": at_ms}
    if user_id is not None:
        found["source"] = {"type": "user", "userId": user_id}
    if replyable:
        found["replyToken"] = secrets.token_hex(16)
    found["webhookEventId"] = ulid(at_ms)
    found["deliveryContext"] = {"isRedelivery": False}
    found.update(fields)
    return found


def text_message(text: str) -> dict[str, Any]:
    """The `message` of a message event carrying a user's text."""
    return {
        "id": message_id(),
        "type": "text",
        "quoteToken": secrets.token_urlsafe(16),
        "markAsReadToken": secrets.token_urlsafe(12),
        "text": text,
    }


class Webhooks:
    """Posts events to the configured webhook URL and keeps each one with its deliveries."""

    def __init__(self, channel: Channel, url: str | None, secret: str, timeout_s: float = 10) -> None:
        self.channel = channel
        self.url = url
        self._secret = secret
        self._timeout = timeout_s

    def send(self, events: list[dict[str, Any]], forged: str | None = None) -> dict[str, Any]:
        """Post one webhook with these events; the kept record (with how the post went)."""
        body = {"destination": self.channel.bot_user_id, "events": events}
        with self.channel.lock:
            record = self.channel.webhooks.add({"body": body, "forged": forged, "deliveries": []})
        return self._post(record, body, forged)

    def redeliver(self, webhook_event_id: str) -> dict[str, Any] | None:
        """Post an event again as LINE redelivers it; None when no such event was sent."""
        record = self.channel.event_record(webhook_event_id)
        if record is None:
            return None
        again = [
            {**e, "deliveryContext": {"isRedelivery": True}}
            for e in record["body"]["events"]
            if e.get("webhookEventId") == webhook_event_id
        ]
        body = {"destination": record["body"]["destination"], "events": again}
        return self._post(record, body, record.get("forged"))

    def _post(self, record: dict[str, Any], body: dict[str, Any], forged: str | None) -> dict[str, Any]:
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "LineBotWebhook/2.0"}
        if forged == "wrong":
            headers["x-line-signature"] = signature(self._secret + "-not-the-secret", raw)
        elif forged != "missing":
            headers["x-line-signature"] = signature(self._secret, raw)
        delivery: dict[str, Any] = {
            "at": self.channel.now(),
            "isRedelivery": any(e["deliveryContext"]["isRedelivery"] for e in body["events"]),
        }
        if not self.url:
            delivery.update(status=None, error="no webhook URL is configured")
        else:
            request = urllib.request.Request(self.url, data=raw, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self._timeout) as answer:
                    delivery["status"] = answer.status
            except urllib.error.HTTPError as e:
                delivery["status"] = e.code
            except OSError as e:
                delivery.update(status=None, error=str(e))
        with self.channel.lock:
            kept = self.channel.webhooks.get(int(record["number"])) or record
            kept["deliveries"].append(delivery)
            self.channel.webhooks.put(kept)
        return kept
