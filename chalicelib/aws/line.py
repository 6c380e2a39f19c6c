"""The LINE Messaging API, as much of it as inbound LINE needs: a link token for account linking
and a text pushed to one user.

Followed: https://developers.line.biz/en/reference/messaging-api/ -- "Issue link token"
(`POST /v2/bot/user/{userId}/linkToken`, no body, answers `{"linkToken": ...}`, valid 10 minutes,
usable once), "Send push message" (`POST /v2/bot/message/push`, `{"to", "messages"}`), and
"Retrying an API request": `X-Line-Retry-Key` (a UUID) makes a retried push harmless -- a 409
means the first one was accepted, so it counts as sent.  The channel access token is a bearer
token.  The base URL comes from the settings, so the local stack talks to the stand-in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from chalicelib.domain.errors import ChannelError
from chalicelib.services.ports import Secret

Post = Callable[[str, bytes, dict[str, str]], tuple[int, str]]
"""POST a body to a URL with these headers: the HTTP status and the answer's text."""


class LineClient:
    def __init__(self, base_url: str, access_token: Secret, post: Post) -> None:
        self._base = base_url.rstrip("/")
        self._token = access_token
        self._post = post

    def issue_link_token(self, user_id: str) -> str:
        answer = self._call(f"/v2/bot/user/{quote(user_id, safe='')}/linkToken", None, {})
        token = answer.get("linkToken") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise ChannelError("LINE answered a link token request without a linkToken.", 200)
        return token

    def push_text(self, user_id: str, text: str, retry_key: str) -> None:
        body = {"to": user_id, "messages": [{"type": "text", "text": text}]}
        try:
            self._call("/v2/bot/message/push", body, {"X-Line-Retry-Key": retry_key})
        except ChannelError as error:
            if error.status != 409:  # 409: this retry key was accepted before -- it went
                raise

    def _call(self, path: str, body: dict[str, Any] | None, headers: dict[str, str]) -> Any:
        token = self._token()
        if not token:
            raise ChannelError("No LINE channel access token is configured.")
        raw = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
        sent = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers}
        try:
            status, text = self._post(f"{self._base}{path}", raw, sent)
        except (OSError, ValueError) as error:  # unreachable, refused by the address check
            raise ChannelError(f"LINE could not be reached: {error}") from None
        try:
            answer = json.loads(text) if text else {}
        except ValueError:
            answer = {}
        if status != 200:
            message = answer.get("message") if isinstance(answer, dict) else None
            raise ChannelError(f"LINE answered {status}: {message or text[:200]}", status)
        return answer
