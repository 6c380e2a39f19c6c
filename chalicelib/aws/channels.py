"""LINE's Messaging API (push with a retry key, a link token for account linking).

LINE, as its reference describes it:
- `POST {base}/v2/bot/message/push` with `Authorization: Bearer <channel access token>` and
  `X-Line-Retry-Key: <UUID>`; 200 `{"sentMessages": [...]}` with `x-line-request-id`;
- a retry with a key already accepted answers 409 and `x-line-accepted-request-id`: LINE sent it
  once and does not send it again ("Retrying an API request"), so it counts as sent;
- 429 over the channel's rate, 5xx or no answer at all: nothing is known to have gone and the
  same key makes the retry harmless -- the step waits for a later tick;
- 400 names what is wrong with the request: that message never goes;
- "Issue link token": `POST {base}/v2/bot/user/{userId}/linkToken`, no body, answers
  `{"linkToken": ...}` (valid 10 minutes, usable once).

The base URL comes from the settings (https://api.line.me; the local stack's stand-in on
loopback).  The standard library's HTTP client (urllib's own transport, `http.client`) keeps one
connection per thread open: at 2,000 pushes a second a new TCP and TLS handshake per push is
most of the cost.

Texts go through End User Messaging SMS: aws/sms_voice.py.
"""

from __future__ import annotations

import http.client
import json
import threading
from typing import Any
from urllib.parse import quote, urlsplit

from chalicelib.domain.channels import ChannelRejectedError, ChannelThrottledError
from chalicelib.domain.errors import ChannelError
from chalicelib.logs import logger
from chalicelib.services.ports import Secret

PUSH = "/v2/bot/message/push"


class LineClient:
    def __init__(self, base_url: str, token: Secret, timeout: float = 10.0) -> None:
        parts = urlsplit(base_url or "https://api.line.me")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not a base URL for LINE: {base_url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.netloc
        self._prefix = parts.path.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._local = threading.local()

    def push(self, user_id: str, messages: list[dict[str, Any]], retry_key: str) -> str:
        body = json.dumps({"to": user_id, "messages": messages}, ensure_ascii=False).encode()
        headers = {
            "Authorization": f"Bearer {self._token()}",
            "Content-Type": "application/json",
            "X-Line-Retry-Key": retry_key,
        }
        status, answer, data = self._post(PUSH, body, headers)
        if status == 200:
            return answer.get("x-line-request-id", "") or "accepted"
        if status == 409:  # accepted before (a retry after a crash or a lost answer): sent once
            return answer.get("x-line-accepted-request-id", "") or "accepted"
        reason = _message(data)
        if status == 400:
            raise ChannelRejectedError(f"LINE refused the message: {reason}"[:300])
        if status in (401, 403):  # the channel's token: every push waits until it is put right
            logger.error("LINE refused the channel access token", extra={"status": status})
        raise ChannelThrottledError(f"LINE answered {status}: {reason}"[:300])

    def push_text(self, user_id: str, text: str, retry_key: str) -> None:
        """One text (the bot's own words, e.g. its offer of the account link)."""
        self.push(user_id, [{"type": "text", "text": text}], retry_key)

    def issue_link_token(self, user_id: str) -> str:
        path = f"/v2/bot/user/{quote(user_id, safe='')}/linkToken"
        status, _, data = self._post(path, b"", {"Authorization": f"Bearer {self._token()}"})
        if status != 200:
            raise ChannelError(f"LINE answered {status}: {_message(data)}"[:300], status)
        try:
            token = json.loads(data).get("linkToken")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise ChannelError("LINE answered a link token request without a linkToken.", status)
        return token

    def _post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """(status, headers in lower case, body); one more try on a fresh connection when a kept
        one was closed under us (the same retry key makes a second request harmless)."""
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.request("POST", self._prefix + path, body, headers)
                answer = connection.getresponse()
                data = answer.read()
            except (OSError, http.client.HTTPException) as error:
                self._local.connection = None
                connection.close()
                if attempt == 2:
                    raise ChannelThrottledError(f"LINE did not answer: {error}") from None
                continue
            if answer.getheader("connection", "").lower() == "close":
                self._local.connection = None
                connection.close()
            return answer.status, {k.lower(): v for k, v in answer.getheaders()}, data
        raise AssertionError("unreachable")

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            connection = kind(self._host, timeout=self._timeout)
            self._local.connection = connection
        return connection


def _message(data: bytes) -> str:
    try:
        body = json.loads(data or b"{}")
    except ValueError:
        return data[:200].decode("utf-8", "replace")
    if not isinstance(body, dict):
        return ""
    details = "; ".join(
        f"{d.get('property', '')}: {d.get('message', '')}"
        for d in body.get("details") or []
        if isinstance(d, dict)
    )
    return str(body.get("message", "")) + (f" ({details})" if details else "")
