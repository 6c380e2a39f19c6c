"""An AWS End User Messaging SMS stand-in on loopback, for the local stack and the tests: the
AWS emulator (moto) has no `pinpoint-sms-voice-v2` service.  Real boto3 talks to it through
`endpoint_url`; it answers as the published reference says, keeps every text it took (visible as
JSON and on a page, like the local mailbox) and publishes each text's events to its
configuration set's SNS event destination in the emulator, so the delivery events reach the
feedback queue exactly as on AWS.

Reference pages followed (found through the docs search):
- AWS End User Messaging SMS and Voice, version 2 API Reference: SendTextMessage,
  CreateConfigurationSet, CreateEventDestination, DescribeConfigurationSets, PutOptedOutNumber,
  DescribeOptedOutNumbers, the EventDestination and SnsDestination types, and the common errors
  (ValidationException with its Reason and Fields, ConflictException with its Reason,
  ResourceNotFoundException, ThrottlingException, ServiceQuotaExceededException) -- checked
  against the service model botocore ships, which that reference is generated from
  (`sms_voice_rules`);
- the AWS End User Messaging SMS User Guide: "Example event data" (configuration-sets-event-format),
  "Event types for SMS, MMS, and voice" (configuration-sets-event-types), "Event destinations",
  "Opt-out lists" (opt-out-list) and "Simulator phone numbers" (test-phone-numbers);
- the AWS JSON 1.0 protocol as botocore speaks it: `POST /` with
  `X-Amz-Target: PinpointSMSVoiceV2.<Operation>` and `Content-Type: application/x-amz-json-1.0`.
What each module takes from them is in its own docstring: `sms_voice_rules` (request checks and
error bodies), `sms_voice_service` (the operations, the opt-out list, the events).

What it does not do: sign-in (any SigV4 signature is taken, none is checked), phone numbers,
sender IDs, pools and registrations (any OriginationIdentity of the right form is taken, and the
country rules of numbers and sender IDs are not applied), more opt-out lists than `Default`,
STOP replies, spend limits, message parts per second per country (one configurable rate instead),
event destinations other than SNS (kept, never written to), voice, MMS and RCS.

The developer's view, under `/_standin/`: `GET /_standin/texts` (JSON, newest first),
`GET /_standin/events` (the events published), `GET /_standin/` (a page).

`serve(...)` starts it in a thread and returns its URL, the account and a stop function.
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from devstack.sms_voice_rules import TARGET_PREFIX, ApiError
from devstack.sms_voice_service import Account, Publish
from devstack.standin_http import write_answer

MAX_BODY = 1024 * 1024
PREFIX = "/_standin"
CSP = "default-src 'none'; style-src 'unsafe-inline'"


def page(texts: list[dict[str, Any]]) -> bytes:
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(value))}</td>"
            for value in (
                datetime.fromtimestamp(t["At"], UTC).isoformat(timespec="seconds"),
                t["DestinationPhoneNumber"],
                t["MessageType"],
                t["OriginationIdentity"] or "-",
                t["ConfigurationSetName"] or "-",
                t["MessageBody"],
            )
        )
        + "</tr>"
        for t in texts
    )
    head = "".join(f"<th>{h}</th>" for h in ("at (UTC)", "to", "type", "from", "configuration set", "text"))
    return (
        "<!doctype html><meta charset=utf-8><title>Texts (End User Messaging SMS stand-in)</title>"
        "<style>td{border-top:1px solid #ccc;padding:4px;white-space:pre-wrap}</style>"
        f"<h1>Texts taken ({len(texts)})</h1><table><tr>{head}</tr>{rows}</table>"
    ).encode()


def make_server(port: int, account: Account) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body leave in two writes

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            newest = list(reversed(account.texts))
            if path in (PREFIX, f"{PREFIX}/"):
                return self._send(200, page(newest), "text/html; charset=utf-8")
            if path == f"{PREFIX}/texts":
                return self._json(200, {"texts": newest})
            if path == f"{PREFIX}/events":
                return self._json(200, {"events": list(reversed(account.events))})
            self._error(ApiError("UnknownOperationException", "The API takes POST / only."))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.close_connection = True
                return self._error(
                    ApiError(
                        "ValidationException", "The request is too large.", Reason="MAXIMUM_SIZE_EXCEEDED"
                    )
                )
            raw = self.rfile.read(length) if length else b""
            target = self.headers.get("X-Amz-Target", "")
            if self.path.split("?", 1)[0] != "/" or not target.startswith(TARGET_PREFIX):
                return self._error(ApiError("UnknownOperationException", f"Unknown target {target[:80]!r}."))
            try:
                request = json.loads(raw or b"{}")
            except ValueError:
                return self._error(ApiError("SerializationException", "The body is not JSON."))
            try:
                answer = account.handle(target[len(TARGET_PREFIX) :], request)
            except ApiError as error:
                return self._error(error)
            except Exception as error:  # a bug of the stand-in: the service's 500
                return self._error(ApiError("InternalServerException", str(error)[:200], 500))
            self._send(200, json.dumps(answer, ensure_ascii=False).encode(), "application/x-amz-json-1.0")

        def _error(self, error: ApiError) -> None:
            data = json.dumps(error.body(), ensure_ascii=False).encode()
            self._send(error.status, data, "application/x-amz-json-1.0", {"x-amzn-ErrorType": error.code})

        def _json(self, status: int, body: Any) -> None:
            self._send(status, json.dumps(body, ensure_ascii=False).encode(), "application/json")

        def _send(self, status: int, data: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
            write_answer(self, status, data, kind, CSP, headers)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


def serve(
    port: int,
    directory: Path | None,
    publish: Publish,
    rate_per_s: float | None = None,
    delay_s: float = 0.2,
    account_id: str = "123456789012",
    region: str = "us-east-1",
) -> tuple[str, Account, Callable[[], None]]:
    """Start the stand-in on 127.0.0.1:`port` (0: any free port), its texts kept under
    `directory`, its events published through `publish(topic_arn, message)` (the emulator's SNS);
    its endpoint URL, its account and a stop function."""
    account = Account(directory, publish, account_id, region, rate_per_s, delay_s)
    server = make_server(port, account)
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name="sms-voice-standin", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        account.stop()
        thread.join(timeout=5)

    host, bound = server.server_address[:2]
    return f"http://{host!s}:{bound}", account, stop


class Running:
    """The stand-in as `make run` keeps it: `shutdown()` stops it, like the other local servers."""

    def __init__(self, url: str, account: Account, stop: Callable[[], None]) -> None:
        self.url, self.account, self.shutdown = url, account, stop


def serve_locally(session: Any, directory: Path) -> Running:
    """`make run`'s stand-in: texts kept under `directory` (.local/sms), events published to the
    emulator's SNS through `session`, the account and region the emulator answers with."""
    sns = session.client("sns")
    account_id = session.client("sts").get_caller_identity()["Account"]

    def publish(topic: str, message: str) -> None:
        sns.publish(TopicArn=topic, Message=message)

    url, account, stop = serve(
        0, directory, publish, delay_s=1.0, account_id=account_id, region=session.region_name
    )
    return Running(url, account, stop)
