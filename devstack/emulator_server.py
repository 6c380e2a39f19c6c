"""The emulator's process: moto's own server, plus one read-only page of what its SES took, and
the CORS headers S3 gives a browser's form upload.

moto keeps the mail SES accepted in memory (`sent_messages`, its documented way to look at
sent mail) and publishes no configuration-set events.  `GET /_sodate/ses/sent?after=N` lists
the messages after the first N as JSON (raw MIME base64), so the local mailbox can show them
and emit the events SES would.  moto answers a preflight by the bucket's CORS rules but leaves
them off the answer to a POST upload itself (S3 sends them), so a browser could not read it:
`with_upload_cors` adds them, from the same rules.

`GET /_sodate/sqs/messages?account=A&region=R&queue=NAME` lists every message a queue holds --
waiting, still in its DelaySeconds (with the seconds left), or taken and not yet deleted -- for
the local state's dump (devstack/state.py).  ReceiveMessage could not do it: it cannot see a
delayed message, and each receive hides the message from the pumps and counts towards the
queue's redrive to its dead-letter queue; this read, from moto's memory, does neither.

moto's Cognito sends no mail, where Cognito mails an invited user their temporary password and
someone who forgot theirs a code (with the pool's message templates).  `with_pool_mail` is that
mail's stand-in, following Cognito's documented behaviour: an AdminCreateUser without
MessageAction SUPPRESS gets a temporary password the pool's policy accepts (Cognito makes one;
moto would leave the user without any), and the invitation goes to the local mailbox from
Cognito's own sender; a ForgotPassword's code (moto hands it over in a header of its own) goes
there as the verification message, six digits as Cognito sends, and a ConfirmForgotPassword
carrying those digits is checked against it (moto checks only codes with its prefix, and takes
any other as right).  Everything else is moto as `python -m moto.server` runs it.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import signal
import sys
import urllib.parse
from collections.abc import Callable, Iterable
from email.message import EmailMessage
from io import BytesIO
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

from devstack import atomic_writes

SENT = "/_sodate/ses/sent"
QUEUED = "/_sodate/sqs/messages"
POOL_SENDER = "no-reply@verificationemail.com"  # Cognito's own sender, when no SES identity is set
_POOL = "AWSCognitoIdentityProviderService."
_MOTO_CODE = "moto-confirmation-code:"

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def sent_after(after: int) -> dict[str, Any]:
    from moto.ses.models import ses_backends

    messages: list[Any] = []
    for account in list(ses_backends):
        for region in list(ses_backends[account]):
            messages += ses_backends[account][region].sent_messages
    listed = [
        {
            "index": index,
            "id": m.id,
            "source": m.source,
            "destinations": list(m.destinations),
            "raw": base64.b64encode(str(m.raw_data).encode("utf-8", "surrogateescape")).decode(),
            "pool": m.source == POOL_SENDER,  # the user pool's own mail: no configuration set, no events
        }
        for index, m in enumerate(messages[after:], start=after)
        if hasattr(m, "raw_data")  # raw mail is what Sodate sends
    ]
    return {"messages": listed, "count": len(messages)}


def queued(account: str, region: str, name: str) -> dict[str, Any] | None:
    """The queue's messages in the order sent, each with the seconds left of its delay; None when
    there is no such queue."""
    from moto.core.utils import unix_time_millis
    from moto.sqs.models import sqs_backends

    try:
        queue = sqs_backends[account][region].queues.get(name)
    except KeyError:
        return None
    if queue is None:
        return None
    now = unix_time_millis()
    held = list(queue._messages)  # a copy, taken at once: moto replaces the list on a delete
    return {"messages": [{"body": m.body, "delay_s": max(0.0, (m.delayed_until - now) / 1000)} for m in held]}


def with_pages(app: Wsgi) -> Wsgi:
    """The emulator's own read-only pages: SES's sent mail and a queue's messages."""

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path not in (SENT, QUEUED):
            return app(environ, start_response)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).items()}
        if path == SENT:
            answer: dict[str, Any] | None = sent_after(
                int(query["after"]) if query.get("after", "").isdigit() else 0
            )
        else:
            answer = queued(query.get("account", ""), query.get("region", ""), query.get("queue", ""))
        status, body = (
            ("200 OK", json.dumps(answer).encode()) if answer is not None else ("404 Not Found", b"{}")
        )
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return serve


def with_upload_cors(app: Wsgi) -> Wsgi:
    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        origin = environ.get("HTTP_ORIGIN")
        bucket = environ.get("PATH_INFO", "").strip("/")
        if environ.get("REQUEST_METHOD") != "POST" or not origin or not bucket or "/" in bucket:
            return app(environ, start_response)
        extra = upload_cors(bucket, origin)

        def respond(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            return start_response(status, headers + extra, *rest)

        return app(environ, respond)

    return serve


def upload_cors(bucket_name: str, origin: str) -> list[tuple[str, str]]:
    """The headers S3 answers a cross-origin POST with: those of the first rule that allows it."""
    from moto.s3.models import s3_backends
    from moto.s3.utils import cors_matches_origin

    for account in list(s3_backends):
        for partition in list(s3_backends[account]):
            bucket = s3_backends[account][partition].buckets.get(bucket_name)
            for rule in bucket.cors if bucket else []:
                if "POST" in (rule.allowed_methods or []) and cors_matches_origin(
                    origin, rule.allowed_origins or []
                ):
                    return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    return []


def with_pool_mail(app: Wsgi) -> Wsgi:
    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        action = target.removeprefix(_POOL) if target.startswith(_POOL) else ""
        if action not in ("AdminCreateUser", "ForgotPassword", "ConfirmForgotPassword"):
            return app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}")
        if action == "AdminCreateUser" and body.get("MessageAction") != "SUPPRESS":
            body.setdefault("TemporaryPassword", temporary_password())
        if action == "ConfirmForgotPassword":
            body["ConfirmationCode"] = _MOTO_CODE + str(body.get("ConfirmationCode", ""))
        raw = json.dumps(body).encode()
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = BytesIO(raw), str(len(raw))
        answered: dict[str, Any] = {}

        def respond(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            answered.update(status=status, headers=dict(headers))
            return start_response(status, headers, *rest)

        chunks = list(app(environ, respond))
        if str(answered.get("status", "")).startswith("200"):
            if action == "AdminCreateUser" and body.get("MessageAction") != "SUPPRESS":
                pool_mail(body["UserPoolId"], "", str(body["Username"]), body["TemporaryPassword"])
            code = str(answered["headers"].get("x-moto-forgot-password-confirmation-code") or "")
            if action == "ForgotPassword" and code.startswith(_MOTO_CODE):  # "None": nobody's address
                pool_mail(
                    "", str(body.get("ClientId", "")), str(body["Username"]), code.removeprefix(_MOTO_CODE)
                )
        return chunks

    return serve


def temporary_password() -> str:
    """What Cognito makes for an invitation: letters of both cases, a digit and a symbol."""
    picks = [
        secrets.choice(s)
        for s in ("ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnpqrstuvwxyz", "23456789", "-!#%")
    ]
    return "".join(picks) + secrets.token_urlsafe(9)


def pool_mail(pool_id: str, client_id: str, username: str, secret: str) -> None:
    """The invitation (with the temporary password) or the verification message (with the code),
    from the pool's own templates, into the emulator's sent mail for the local mailbox."""
    from moto.cognitoidp.models import cognitoidp_backends
    from moto.ses.models import RawMessage, ses_backends

    for account in list(cognitoidp_backends):
        for region in list(cognitoidp_backends[account]):
            for pool in list(cognitoidp_backends[account][region].user_pools.values()):
                if pool.id != pool_id and client_id not in pool.clients:
                    continue
                config = pool.extended_config
                if pool_id:
                    template = (config.get("AdminCreateUserConfig") or {}).get("InviteMessageTemplate") or {}
                    subject = template.get("EmailSubject", "Your temporary password")
                    text = template.get(
                        "EmailMessage", "Your username is {username} and temporary password is {####}."
                    )
                else:
                    template = config.get("VerificationMessageTemplate") or {}
                    subject = template.get("EmailSubject", "Your verification code")
                    text = template.get("EmailMessage", "Your verification code is {####}.")
                mail = EmailMessage()
                mail["From"], mail["To"], mail["Subject"] = POOL_SENDER, username, subject
                mail["Message-ID"] = f"<{secrets.token_hex(12)}@{region}.amazonses.com>"
                mail.set_content(text.replace("{username}", username).replace("{####}", secret))
                sent = RawMessage(secrets.token_hex(16), POOL_SENDER, [username], mail.as_string())
                ses_backends[account][region].sent_messages.append(sent)
                return


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    atomic_writes.serialise()
    app = DomainDispatcherApplication(create_backend_app)
    served = with_pool_mail(with_upload_cors(with_pages(app)))
    run_simple(args.host, args.port, served, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
