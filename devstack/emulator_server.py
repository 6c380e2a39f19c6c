"""The emulator's process: moto's own server, plus one read-only page of what its SES took, and
the CORS headers S3 gives a browser's form upload.

moto keeps the mail SES accepted in memory (`sent_messages`, its documented way to look at
sent mail) and publishes no configuration-set events.  `GET /_sodate/ses/sent?after=N` lists
the messages after the first N as JSON (raw MIME base64), so the local mailbox can show them
and emit the events SES would.  moto answers a preflight by the bucket's CORS rules but leaves
them off the answer to a POST upload itself (S3 sends them), so a browser could not read it:
`with_upload_cors` adds them, from the same rules.  Everything else is moto as
`python -m moto.server` runs it.
"""

from __future__ import annotations

import argparse
import base64
import json
import signal
import sys
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

from devstack import atomic_writes

SENT = "/_sodate/ses/sent"

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
        }
        for index, m in enumerate(messages[after:], start=after)
        if hasattr(m, "raw_data")  # raw mail is what Sodate sends
    ]
    return {"messages": listed, "count": len(messages)}


def with_mail(app: Wsgi) -> Wsgi:
    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != SENT:
            return app(environ, start_response)
        query = dict(p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
        after = int(query["after"]) if query.get("after", "").isdigit() else 0
        body = json.dumps(sent_after(after)).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    atomic_writes.serialise()
    app = DomainDispatcherApplication(create_backend_app)
    served = with_upload_cors(with_mail(app))
    run_simple(args.host, args.port, served, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
