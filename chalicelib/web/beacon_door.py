"""The beacon's own door: /t, /t.gif and /tag.js answered straight from the Lambda event.

Every page view of every site comes through here, so these three paths skip Chalice's routing,
middleware and response validation (about half a beacon's CPU) and answer with what the Chalice
routes answered: the same checks (content type, method, size, origin, rate limits), the same
status codes and the same security headers.  Two event shapes arrive:

- API Gateway's REST proxy (payload 1.0), through the API's /t, /t.gif and /tag.js routes;
- a Lambda function URL (payload 2.0), the beacon function's own entry point: no per-request
  charge beyond Lambda's, where API Gateway adds about $4 per million requests.

The tag is served gzipped when the browser takes gzip, with an ETag (a 304 when it is current)
and a Cache-Control that lets browsers and CDNs keep it for an hour.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import logging
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qsl

from chalicelib.web import requests, tag_js

if TYPE_CHECKING:
    from chalicelib.services.beacons import Beacons

PATHS = frozenset({"/t", "/t.gif", "/tag.js"})
BEACON_TYPES = ("text/plain", "application/json")
TAG_CACHE = "public, max-age=3600, stale-while-revalidate=86400"
_log = logging.getLogger(__name__)


class Call(NamedTuple):
    """One request to the door, whichever event shape brought it."""

    method: str
    path: str
    headers: Mapping[str, str]  # names in lower case
    ip: str
    body: bytes
    query: Mapping[str, str]


class Answer(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes = b""


def from_rest(event: Mapping[str, Any]) -> Call | None:
    """An API Gateway REST proxy event for one of the door's paths; None for any other path."""
    context = event.get("requestContext") or {}
    path = context.get("resourcePath") or event.get("resource")
    if path not in PATHS:
        return None
    return Call(
        method=str(event.get("httpMethod") or context.get("httpMethod") or "").upper(),
        path=path,
        headers={k.lower(): v for k, v in (event.get("headers") or {}).items()},
        ip=str((context.get("identity") or {}).get("sourceIp", "")),
        body=_body(event),
        query=_last_values(event) if path == "/t.gif" else {},
    )


def from_url(event: Mapping[str, Any]) -> Call:
    """A Lambda function URL event (payload 2.0): any path may come, the door answers all."""
    http = (event.get("requestContext") or {}).get("http") or {}
    return Call(
        method=str(http.get("method", "")).upper(),
        path=str(event.get("rawPath") or http.get("path") or "/"),
        headers={k.lower(): v for k, v in (event.get("headers") or {}).items()},
        ip=str(http.get("sourceIp", "")),
        body=_body(event),
        query=dict(parse_qsl(str(event.get("rawQueryString") or ""), keep_blank_values=True)),
    )


def _last_values(event: Mapping[str, Any]) -> dict[str, str]:
    """The query's parameters (REST gives each name's values in a list; Chalice takes the last)."""
    values = event.get("multiValueQueryStringParameters") or {}
    return {k: v[-1] for k, v in values.items() if v} or dict(event.get("queryStringParameters") or {})


def _body(event: Mapping[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            return b"\xff"  # not base64: no JSON either, refused as such
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def answer(call: Call, beacons: Callable[[], Beacons]) -> Answer:
    """What the Chalice routes answered, without Chalice; `beacons` builds the use case once."""
    if call.path == "/tag.js":
        return tag(call) if call.method in ("GET", "HEAD") else _unsupported(call.method)
    if call.path == "/t":
        if call.method != "POST":
            return _unsupported(call.method)
        kind = call.headers.get("content-type", "").partition(";")[0].strip().lower()
        if kind not in BEACON_TYPES:
            return _refuse(415, "UnsupportedMediaType", f"Unsupported media type: {kind or 'none'}")
        outcome = beacons().from_post(call.body, call.headers, call.ip, call.method)
        return Answer(requests.beacon_status(outcome.refused), _no_store(outcome.origin))
    if call.path == "/t.gif":
        if call.method != "GET":
            return _unsupported(call.method)
        outcome = beacons().from_pixel(call.query.get("d", ""), call.headers, call.ip, call.method)
        status = requests.beacon_status(outcome.refused)
        headers = {**_no_store(outcome.origin), "Content-Type": "image/gif"}
        return Answer(status if status >= 400 else 200, headers, requests.GIF)
    return _refuse(
        404, "NotFoundError", "This address takes page views (/t, /t.gif) and serves the tag (/tag.js)."
    )


_NO_STORE = {**requests.SECURITY_HEADERS, "Cache-Control": "no-store"}


def _no_store(origin: str) -> dict[str, str]:
    return {**_NO_STORE, **requests.cors(origin)} if origin else dict(_NO_STORE)


def _unsupported(method: str) -> Answer:
    return _refuse(405, "MethodNotAllowedError", f"Unsupported method: {method}")


def _refuse(status: int, code: str, message: str) -> Answer:
    body = requests.json_bytes({"Code": code, "Message": message})
    return Answer(status, {**requests.SECURITY_HEADERS, "Content-Type": "application/json"}, body)


@lru_cache(maxsize=1)
def _tag() -> tuple[bytes, bytes, str]:
    """The tag as served, gzipped once per container, and its ETag (its content's hash)."""
    plain = tag_js().encode("utf-8")
    return (
        plain,
        gzip.compress(plain, compresslevel=9, mtime=0),
        f'"{hashlib.sha256(plain).hexdigest()[:20]}"',
    )


def tag(call: Call) -> Answer:
    plain, packed, etag = _tag()
    headers = {
        **requests.SECURITY_HEADERS,
        "Content-Type": "application/javascript; charset=utf-8",
        "Cache-Control": TAG_CACHE,
        "ETag": etag,
        "Vary": "Accept-Encoding",
    }
    if etag in (t.strip().removeprefix("W/") for t in call.headers.get("if-none-match", "").split(",")):
        return Answer(304, headers)
    if _takes_gzip(call.headers.get("accept-encoding", "")):
        return Answer(200, {**headers, "Content-Encoding": "gzip"}, b"" if call.method == "HEAD" else packed)
    return Answer(200, headers, b"" if call.method == "HEAD" else plain)


def _takes_gzip(accepted: str) -> bool:
    for part in accepted.lower().split(","):
        name, _, weight = part.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            return weight.strip().replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def respond(call: Call, beacons: Callable[[], Beacons], rest: bool = False) -> dict[str, Any]:
    """The proxy answer both event shapes take (REST's with its multi-value headers, as Chalice
    gives it); an unexpected error is a logged 500, as Chalice's own handler makes it."""
    try:
        done = answer(call, beacons)
    except Exception:  # the browser gets a 500, the log the trace (as Chalice's own handler does)
        _log.exception("beacon failed: %s %s", call.method, call.path)
        done = _refuse(500, "InternalServerError", "An internal server error occurred.")
    proxy = {
        "statusCode": done.status,
        "headers": done.headers,
        "body": base64.b64encode(done.body).decode("ascii"),
        "isBase64Encoded": True,
    }
    return proxy | {"multiValueHeaders": {}} if rest else proxy
