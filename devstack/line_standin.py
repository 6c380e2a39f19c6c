"""A LINE Messaging API stand-in on loopback, for the local stack and the tests: there is no
emulator for LINE.  It answers as LINE's published reference says, keeps everything it delivered
(visible as JSON and on a page, like the local mailbox) and plays the users' side: following,
blocking, writing to the account and completing account linking, each a signed webhook to the
bot server.

Reference pages followed (found through the docs search; their source is kept in
line/line-developers-docs-source and its `_partials`):
- https://developers.line.biz/en/reference/messaging-api/ -- common specifications (status codes,
  `x-line-request-id` / `x-line-accepted-request-id`, error responses, rate limits), "Send push
  message", "Send multicast message", "Retrying an API request", "Issue link token", "Get
  profile", the text/image/Flex message objects, "Webhooks" (request body, signature validation)
  and the webhook event objects (message, follow, unfollow, account link);
- https://developers.line.biz/en/docs/messaging-api/retrying-api-request/ (the retry key);
- https://developers.line.biz/en/docs/messaging-api/linking-accounts/ (link token, nonce, the
  account link event; a used or expired link token sends no webhook);
- https://developers.line.biz/en/docs/messaging-api/receiving-messages/ (redelivered webhooks).
What each module takes from them is in its own docstring: `line_api` (the endpoints, rate limit,
retry key), `line_rules` (request validation and error bodies), `line_webhooks` (events and
signatures), `line_channel` (what is kept), `line_pages` (the page).

The control surface for tests and the local console is under `/_standin/` (JSON in, JSON out):
- `POST /_standin/follow` `{"userId"?, "displayName"?, "pictureUrl"?, "statusMessage"?,
  "language"?}` -- a user adds the account as a friend (or unblocks it): a follow event;
- `POST /_standin/unfollow` `{"userId"}` -- the user blocks the account: an unfollow event;
- `POST /_standin/message` `{"userId", "text"}` -- a friend writes to the account: a message event;
- `POST /_standin/account-link` `{"linkToken", "nonce", "result"?}` -- the user opens the
  account-linking endpoint: an accountLink event (`result` "ok", or "failed" to play an
  impersonation caught by LINE); a link token unknown, used or past its 10 minutes is refused
  with 400 and no webhook, as the reference says;
- `POST /_standin/redeliver` `{"webhookEventId"}` -- that event posted again, `isRedelivery: true`;
- `POST /_standin/forge` `{"userId"?, "signature": "wrong" | "missing"}` -- a follow webhook with
  a wrong signature or none (the channel's friends do not change);
- `GET /_standin/messages`, `/_standin/webhooks`, `/_standin/users` (JSON); `GET /_standin/` the page;
- `GET /dialog/bot/accountLink?linkToken=&nonce=` -- LINE's account-link dialog, where the bot's
  page sends the user: the account-link above, answered with a page.
Each POST answers the webhook's record: its body and each post's HTTP status.

`serve(...)` starts it in a thread and returns its URL and a stop function.
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from devstack import line_pages
from devstack import line_rules as rules
from devstack.line_api import MessagingApi
from devstack.line_channel import Channel, new_user_id
from devstack.line_webhooks import FORGERIES, Webhooks, event, text_message
from devstack.standin_http import write_answer

DIALOG = "/dialog/bot/accountLink"  # as https://access.line.me/dialog/bot/accountLink?linkToken=&nonce=
MAX_BODY = 2 * 1024 * 1024  # "413 Payload Too Large: Request exceeds the max size of 2MB"
PREFIX = "/_standin"


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Control:
    """The users' side of the channel."""

    def __init__(self, channel: Channel, webhooks: Webhooks) -> None:
        self.channel = channel
        self.webhooks = webhooks

    def handle(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "follow": self.follow,
            "unfollow": self.unfollow,
            "message": self.message,
            "account-link": self.account_link,
            "redeliver": self.redeliver,
            "forge": self.forge,
        }
        if action not in handlers:
            raise Refused(404, "no such control")
        return handlers[action](body)

    def follow(self, body: dict[str, Any]) -> dict[str, Any]:
        user_id = self._user_id(body, fresh=True)
        unblocked = self.channel.follow(user_id, body)
        now = self.channel.now()
        sent = self.webhooks.send([event("follow", user_id, now, True, follow={"isUnblocked": unblocked})])
        return {"userId": user_id, "webhook": sent}

    def unfollow(self, body: dict[str, Any]) -> dict[str, Any]:
        user_id = self._user_id(body)
        if not self.channel.unfollow(user_id):
            raise Refused(404, "that user is not a friend")
        sent = self.webhooks.send([event("unfollow", user_id, self.channel.now(), False)])
        return {"userId": user_id, "webhook": sent}

    def message(self, body: dict[str, Any]) -> dict[str, Any]:
        user_id = self._user_id(body)
        text = body.get("text")
        if not isinstance(text, str) or not text:
            raise Refused(400, "text is required")
        user = self.channel.user(user_id)
        if user is None or not user["friend"]:
            raise Refused(404, "that user is not a friend")
        now = self.channel.now()
        sent = self.webhooks.send([event("message", user_id, now, True, message=text_message(text))])
        return {"userId": user_id, "webhook": sent}

    def account_link(self, body: dict[str, Any]) -> dict[str, Any]:
        token, nonce = body.get("linkToken"), body.get("nonce")
        result = body.get("result", "ok")
        if (
            not isinstance(token, str)
            or not isinstance(nonce, str)
            or not nonce
            or result not in ("ok", "failed")
        ):
            raise Refused(400, "linkToken and nonce are required; result is ok or failed")
        user_id = self.channel.use_link_token(token)
        if user_id is None:
            raise Refused(400, "the link token is unknown, used or expired: LINE shows the user an error")
        now = self.channel.now()
        link = {"result": result, "nonce": nonce}
        if result == "ok":
            made = event("accountLink", user_id, now, True, link=link)
        else:  # no source and no reply token when linking failed
            made = event("accountLink", None, now, False, link=link)
        return {"userId": user_id, "webhook": self.webhooks.send([made])}

    def redeliver(self, body: dict[str, Any]) -> dict[str, Any]:
        sent = self.webhooks.redeliver(str(body.get("webhookEventId", "")))
        if sent is None:
            raise Refused(404, "no webhook event with that id was sent")
        return {"webhook": sent}

    def forge(self, body: dict[str, Any]) -> dict[str, Any]:
        how = body.get("signature")
        if how not in FORGERIES:
            raise Refused(400, f"signature is one of {', '.join(FORGERIES)}")
        user_id = self._user_id(body, fresh=True)
        made = event("follow", user_id, self.channel.now(), True, follow={"isUnblocked": False})
        return {"userId": user_id, "webhook": self.webhooks.send([made], forged=str(how))}

    def _user_id(self, body: dict[str, Any], fresh: bool = False) -> str:
        user_id = body.get("userId")
        if user_id is None and fresh:
            return new_user_id()
        if not isinstance(user_id, str) or not rules.USER_ID.fullmatch(user_id):
            raise Refused(400, "userId is U and 32 hexadecimal digits")
        return user_id


def make_server(
    port: int,
    directory: Path,
    channel_token: str,
    channel_secret: str,
    webhook_url: str | None,
    rate_per_s: float | None = None,
) -> tuple[ThreadingHTTPServer, Channel]:
    channel = Channel(directory)
    api = MessagingApi(channel, channel_token, rate_per_s)
    control = Control(channel, Webhooks(channel, webhook_url, channel_secret))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in two writes: with Nagle's algorithm the body would wait for the
        # client's delayed ACK (40 ms a request on a kept connection, 25 requests a second each).
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == DIALOG:
                return self._dialog()
            if path in (PREFIX, f"{PREFIX}/"):
                page = line_pages.page(channel.sent.newest(), channel.users(), channel.webhooks.newest())
                return self._send(200, page, "text/html; charset=utf-8")
            listings = {
                f"{PREFIX}/messages": lambda: {"messages": channel.sent.newest()},
                f"{PREFIX}/webhooks": lambda: {"webhooks": channel.webhooks.newest()},
                f"{PREFIX}/users": lambda: {"users": channel.users()},
            }
            if path in listings:
                return self._json(200, listings[path]())
            if path.startswith(f"{PREFIX}/"):
                return self._json(404, rules.error("Not found"))
            self._api(b"")

        def do_POST(self) -> None:
            raw = self._body()
            if raw is None:
                return
            path = self.path.split("?", 1)[0]
            if not path.startswith(f"{PREFIX}/"):
                return self._api(raw)
            origin = self.headers.get("Origin")
            if origin not in (None, "null", f"http://{self.headers.get('Host')}"):
                return self._json(403, rules.error("only this host may use the control surface"))
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            if not isinstance(body, dict):
                return self._json(400, rules.error("the body is not a JSON object"))
            try:
                return self._json(200, control.handle(path[len(PREFIX) + 1 :], body))
            except Refused as e:
                return self._json(e.status, rules.error(str(e)))

        def _dialog(self) -> None:
            """LINE's account-link dialog, as a LINE user who owns the link token opens it: the
            accountLink webhook goes to the bot, and the page says how it went."""
            query = {k: v[0] for k, v in parse_qs(self.path.partition("?")[2]).items()}
            try:
                control.account_link({"linkToken": query.get("linkToken"), "nonce": query.get("nonce")})
                status, said = 200, "連携しました / Linked: the bot was told (accountLink)."
            except Refused as e:
                status, said = e.status, f"連携できません / Not linked: {e}"
            page = f"<!doctype html><meta charset=utf-8><title>LINE</title><p>{html.escape(said)}</p>"
            self._send(status, page.encode(), "text/html; charset=utf-8")

        def _body(self) -> bytes | None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.close_connection = True
                self._json(413, rules.error("Request Entity Too Large"))
                return None
            return self.rfile.read(length) if length else b""

        def _api(self, raw: bytes) -> None:
            path = self.path.split("?", 1)[0]
            answer = api.handle(self.command, path, dict(self.headers.items()), raw)
            self._json(answer.status, answer.body, answer.headers)

        def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self._send(status, data, "application/json", headers)

        def _send(self, status: int, data: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
            write_answer(self, status, data, kind, line_pages.CSP, headers)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server, channel


def serve(
    port: int,
    directory: Path,
    channel_token: str,
    channel_secret: str,
    webhook_url: str | None,
    rate_per_s: float | None = None,
) -> tuple[str, Callable[[], None]]:
    """Start the stand-in on 127.0.0.1:`port` (0: any free port), keeping its data under
    `directory`; its base URL (for the Messaging API client and `/_standin/`) and a stop function."""
    server, _ = make_server(port, directory, channel_token, channel_secret, webhook_url, rate_per_s)
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name="line-standin", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    host, bound = server.server_address[:2]
    return f"http://{host!s}:{bound}", stop
