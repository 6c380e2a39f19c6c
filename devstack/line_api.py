"""The Messaging API endpoints the LINE stand-in answers, as the reference describes them.

Followed (https://developers.line.biz/en/reference/messaging-api/):
- "Status codes", "Response headers" (`x-line-request-id` on every answer,
  `x-line-accepted-request-id` on a 409), "Error responses".
- "Rate limits": per channel and per endpoint (the method counts), push, profile and link token
  2,000 requests per second, multicast 200; over it 429 `{"message": "The API rate limit has been
  exceeded. Try again later."}`.  The stand-in counts in fixed one-second windows (the first
  request of a window opens it); requests refused with 401 belong to no channel and are not
  counted, nor are the 429s themselves.  `rate_per_s` replaces every endpoint's limit.
- "Send push message": 200 `{"sentMessages": [{"id", "quoteToken"?}]}`; a user id that does not
  exist in the channel (the stand-in: one it never saw follow) is 400 `{"message": "Failed to
  send messages"}`; a user who blocked the account gets 200 and does not receive it.
- "Send multicast message": 200 `{}`; the page's "Conditions" say users who blocked the account,
  are not friends, or whose ids do not exist in the channel get 200 and do not receive it, so a
  well-formed unknown id is not an error here (a malformed one is: "The property, to[1], ...").
- "Retrying an API request" and https://developers.line.biz/en/docs/messaging-api/retrying-api-request/:
  `X-Line-Retry-Key` a hexadecimal UUID, only on push, multicast, narrowcast and broadcast (400 on
  any other endpoint); once a request with the key is accepted, the same key within 24 hours gets
  409 `{"message": "The retry key is already accepted", "sentMessages": [...] (push only)}` and
  the `x-line-accepted-request-id` header, and nothing is sent again.  A request refused (4xx) was
  not accepted, so its key can still be used.
- "Issue link token" (`POST /v2/bot/user/{userId}/linkToken` -> `{"linkToken"}`), "Get profile"
  (`GET /v2/bot/profile/{userId}`: displayName, userId, language, pictureUrl, statusMessage --
  the last three only when the user has them; 404 `{"message": "Not found"}` for a user who is
  not a friend or blocked the account; 400 for an invalid user id).

Not in the reference, so the stand-in's own wording: the 400 for a malformed retry key, and the
400 naming an invalid user id in a path.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devstack import line_rules as rules
from devstack.line_channel import Channel
from devstack.line_webhooks import message_id

DEFAULT_RATES = {"push": 2000.0, "multicast": 200.0, "profile": 2000.0, "linkToken": 2000.0}
RETRYABLE = ("push", "multicast")
RATE_EXCEEDED = "The API rate limit has been exceeded. Try again later."
AUTH_FAILED = (
    "Authentication failed due to the following reason: {}. "
    "Confirm that the access token in the authorization header is valid."
)


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class RateLimit:
    """Fixed one-second windows, counted per endpoint."""

    def __init__(self, per_s: dict[str, float], clock: Callable[[], float] = time.monotonic) -> None:
        self._per_s = per_s
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    def take(self, endpoint: str) -> bool:
        now = self._clock()
        with self._lock:
            opened, count = self._windows.get(endpoint, (now, 0))
            if now - opened >= 1.0:
                opened, count = now, 0
            if count >= self._per_s[endpoint]:
                self._windows[endpoint] = (opened, count)
                return False
            self._windows[endpoint] = (opened, count + 1)
            return True


def route(method: str, path: str) -> tuple[str, str | None] | None:
    """(endpoint, user id in the path) for the endpoints the stand-in answers."""
    if method == "POST" and path == "/v2/bot/message/push":
        return "push", None
    if method == "POST" and path == "/v2/bot/message/multicast":
        return "multicast", None
    found = re.fullmatch(r"/v2/bot/user/([^/]+)/linkToken", path)
    if method == "POST" and found:
        return "linkToken", found.group(1)
    found = re.fullmatch(r"/v2/bot/profile/([^/]+)", path)
    if method == "GET" and found:
        return "profile", found.group(1)
    return None


class MessagingApi:
    def __init__(
        self,
        channel: Channel,
        channel_token: str,
        rate_per_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.channel = channel
        self._token = channel_token
        rates = {k: float(rate_per_s) for k in DEFAULT_RATES} if rate_per_s else dict(DEFAULT_RATES)
        self.rate = RateLimit(rates, clock)

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Answer:
        request_id = str(uuid.uuid4())
        answer = self._answer(method, path, {k.lower(): v for k, v in headers.items()}, raw, request_id)
        answer.headers["x-line-request-id"] = request_id
        return answer

    def _answer(self, method: str, path: str, headers: dict[str, str], raw: bytes, request_id: str) -> Answer:
        found = route(method, path)
        if found is None:
            return Answer(404, rules.error("Not found"))
        endpoint, user_id = found
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return Answer(401, rules.error(AUTH_FAILED.format("missing token")))
        if token != self._token:
            return Answer(401, rules.error(AUTH_FAILED.format("invalid token")))
        if not self.rate.take(endpoint):
            return Answer(429, rules.error(RATE_EXCEEDED))
        retry_key = headers.get("x-line-retry-key")
        if retry_key is not None and endpoint not in RETRYABLE:
            return Answer(400, rules.error("X-Line-Retry-Key is not supported by this endpoint"))
        if retry_key is not None and not rules.is_retry_key(retry_key):
            return Answer(400, rules.error("The retry key (X-Line-Retry-Key) must be a UUID in hexadecimal"))
        kind = headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if method == "POST" and raw and kind != "application/json":
            return Answer(400, rules.error(f"The content type, {kind}, is not supported"))
        try:
            if endpoint == "profile":
                return self._profile(str(user_id))
            if endpoint == "linkToken":
                return self._link_token(str(user_id))
            return self._send(endpoint, raw, retry_key, request_id)
        except rules.Invalid as e:
            return Answer(400, e.body)

    def _profile(self, user_id: str) -> Answer:
        if not rules.USER_ID.fullmatch(user_id):
            return Answer(400, rules.error(f"The user ID, {user_id}, is invalid"))
        profile = self.channel.profile(user_id)
        return Answer(200, profile) if profile else Answer(404, rules.error("Not found"))

    def _link_token(self, user_id: str) -> Answer:
        if not rules.USER_ID.fullmatch(user_id):
            return Answer(400, rules.error(f"The user ID, {user_id}, is invalid"))
        return Answer(200, {"linkToken": self.channel.issue_link_token(user_id)})

    def _send(self, endpoint: str, raw: bytes, retry_key: str | None, request_id: str) -> Answer:
        with self.channel.lock:  # the key's check and its acceptance are one step
            if retry_key is not None:
                prior = self.channel.accepted(retry_key)
                if prior is not None:
                    body: dict[str, Any] = {"message": "The retry key is already accepted"}
                    if prior.get("sentMessages") is not None:
                        body["sentMessages"] = prior["sentMessages"]
                    return Answer(409, body, {"x-line-accepted-request-id": str(prior["requestId"])})
            request = rules.parse_json(raw)
            if endpoint == "push":
                to, messages, silent = rules.push_body(request)
                user = self.channel.user(to)
                if user is None:
                    return Answer(400, rules.error("Failed to send messages"))
                recipients = [to]
            else:
                recipients, messages, silent = rules.multicast_body(request)
            sent = [
                {
                    "id": message_id(),
                    **({"quoteToken": _quote_token()} if m["type"] in rules.QUOTABLE else {}),
                }
                for m in messages
            ]
            self.channel.sent.add(
                {
                    "endpoint": endpoint,
                    "requestId": request_id,
                    "retryKey": retry_key,
                    "at": self.channel.now(),
                    "notificationDisabled": silent,
                    "messages": messages,
                    "sentMessages": sent,
                    "recipients": [self._recipient(u) for u in dict.fromkeys(recipients)],
                }
            )
            result = {"sentMessages": sent} if endpoint == "push" else {}
            if retry_key is not None:
                self.channel.accept(retry_key, request_id, sent if endpoint == "push" else None)
            return Answer(200, result)

    def _recipient(self, user_id: str) -> dict[str, Any]:
        user = self.channel.user(user_id)
        if user is None:
            return {"userId": user_id, "received": False, "why": "no such user in this channel"}
        if not user["friend"]:
            return {"userId": user_id, "received": False, "why": "blocked the account"}
        return {"userId": user_id, "received": True, "displayName": user.get("displayName", "")}


def _quote_token() -> str:
    return secrets.token_urlsafe(16)
