"""Tracking figures: the tag's size, a beacon's CPU cost, the beacon path's import time."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from chalicelib import bootstrap, clock
from chalicelib.domain.site import Site
from chalicelib.services.beacons import Beacons
from chalicelib.store import events as event_store
from chalicelib.store.events import EventStore, site_item
from chalicelib.web import tag_js

ROOT = Path(__file__).resolve().parent.parent
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


def tag_gzip_bytes() -> int:
    return len(gzip.compress(tag_js().encode("utf-8"), compresslevel=9))


class CountingDynamo:
    """A DynamoDB client for the beacon's real store (chalicelib/store/events.py): it answers the
    site's read and counts every call, so a beacon costs all our side of a write -- the request
    built -- and none of DynamoDB's."""

    def __init__(self, site: Site) -> None:
        self._site = site_item(site)
        self.calls: dict[str, int] = {}

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def get_item(self, TableName: str, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        self._count("get_item")
        return {"Item": self._site} if "site_id" in Key else {}

    def put_item(self, **request: Any) -> dict[str, Any]:
        self._count("put_item")
        return {}

    def update_item(self, **request: Any) -> dict[str, Any]:
        self._count("update_item")
        return {}

    @property
    def writes(self) -> int:
        return self.calls.get("put_item", 0) + self.calls.get("update_item", 0)


def _bodies(count: int) -> list[tuple[str, str]]:
    """(JSON body, source IP) of `count` page views from 5,000 visitors over 300 products."""
    views = []
    for i in range(count):
        body = {
            "site": "s_bench",
            "k": "pageview",
            "v": f"visitor-{i % 5000:06d}",
            "u": f"https://shop.example.jp/products/{i % 300}?utm_source=mail",
            "t": "Green tea",
            "r": "https://www.google.com/",
            "s": "1920x1080",
        }
        views.append((json.dumps(body), f"203.0.{i % 250}.{i % 200}"))
    return views


def beacon_cpu_us(beacons_count: int = 20_000, door: str = "rest") -> tuple[float, float, float]:
    """CPU µs per beacon through a Lambda entry point -- the API's (`rest`, API Gateway's event)
    or the beacon function's URL (`url`) -- and DynamoDB writes and reads per view, AWS stubbed
    (5,000 visitors: each one's link is looked up once, then cached)."""
    import app as sodate

    site = Site("s_bench", "Bench", ("shop.example.jp",), "secret", "none", "2026-01-01")
    dynamodb = CountingDynamo(site)
    store = EventStore(dynamodb, "sodate-sites", "sodate-events")
    event_store._LINK_CACHE.clear()  # each visitor's first view asks who they are, as a new container does
    bootstrap.reset()
    bootstrap.provide(beacons=Beacons(store, 90, clock.now, identify=lambda site, visitor, token: ""))
    shape = _api_event if door == "rest" else _url_event
    events = [shape(body, ip) for body, ip in _bodies(beacons_count)]
    handler = sodate.app if door == "rest" else sodate.beacon
    context = _Context()
    started = time.process_time()
    for event in events:
        answer = handler(event, context)
        assert answer["statusCode"] == 204, answer
    elapsed = time.process_time() - started
    bootstrap.reset()
    reads = dynamodb.calls.get("get_item", 0) + dynamodb.calls.get("query", 0)
    return elapsed / beacons_count * 1e6, dynamodb.writes / beacons_count, reads / beacons_count


def tag_bytes_via_url() -> int:
    """The tag's body as the beacon function's URL sends it to a browser that takes gzip."""
    import app as sodate

    event = _url_event("", "198.51.100.7") | {"rawPath": "/tag.js", "body": "", "isBase64Encoded": False}
    event["headers"] = {"accept-encoding": "gzip, deflate, br", "user-agent": CHROME}
    event["requestContext"] = {"http": {"method": "GET", "path": "/tag.js", "sourceIp": "198.51.100.7"}}
    answer = sodate.beacon(event, _Context())
    assert answer["statusCode"] == 200 and answer["headers"]["Content-Encoding"] == "gzip", answer
    return len(base64.b64decode(answer["body"]))


def bare_floor_us(beacons_count: int = 20_000) -> float:
    """The floor: a bare handler that decodes the same event, parses the same JSON and builds the
    same two write requests (the hit and its page's line) for the same stub, checking nothing."""
    events = [_api_event(body, ip) for body, ip in _bodies(beacons_count)]
    dynamodb = CountingDynamo(Site("s_bench", "Bench", ("shop.example.jp",), "secret", "none", "2026-01-01"))

    def bare(event: dict[str, Any]) -> dict[str, Any]:
        hit = json.loads(base64.b64decode(event["body"]))
        at = "2026-12-07T00:00:00.000+00:00"
        item = {
            "pk": {"S": f"v#{hit['site']}#{hit['v']}"},
            "sk": {"S": f"{at}#{hit['v']}#000000"},
            "kind": {"S": hit["k"]},
            "site": {"S": hit["site"]},
            "url": {"S": hit["u"]},
            "path": {"S": hit["u"].split("?")[0]},
            "at": {"S": at},
            "title": {"S": hit["t"]},
            "referrer": {"S": hit["r"]},
            "screen": {"S": hit["s"]},
            "ip": {"S": event["requestContext"]["identity"]["sourceIp"]},
            "visitor": {"S": hit["v"]},
            "utm": {"M": {"utm_source": {"S": "mail"}}},
        }
        line = {
            "Key": {"pk": {"S": f"p#{hit['site']}"}, "sk": {"S": item["path"]["S"]}},
            "UpdateExpression": "SET last_hit = :at, last_url = :url ADD hits :one",
            "ExpressionAttributeValues": {":at": {"S": at}, ":url": {"S": hit["u"]}, ":one": {"N": "1"}},
        }
        dynamodb.put_item(TableName="sodate-events", Item=item)  # handed to the same stub as the beacon's
        dynamodb.update_item(TableName="sodate-events", **line)
        return {"statusCode": 204, "headers": {}, "body": ""}

    started = time.process_time()
    for event in events:
        bare(event)
    elapsed = time.process_time() - started
    return elapsed / beacons_count * 1e6


def _api_event(body: str, ip: str) -> dict[str, Any]:
    """A beacon as API Gateway hands it over: with binary media types */* the body arrives in
    base64, and sendBeacon sends `Accept: */*`."""
    headers = {
        "accept": "*/*",
        "content-type": "text/plain;charset=UTF-8",
        "origin": "https://shop.example.jp",
        "user-agent": CHROME,
        "host": "api.example.com",
    }
    return {
        "resource": "/t",
        "path": "/t",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/t",
            "httpMethod": "POST",
            "path": "/api/t",
            "identity": {"sourceIp": ip},
            "stage": "api",
        },
        "body": base64.b64encode(body.encode()).decode("ascii"),
        "isBase64Encoded": True,
    }


def _url_event(body: str, ip: str) -> dict[str, Any]:
    """The same beacon as a Lambda function URL hands it over (payload format 2.0)."""
    headers = {
        "accept": "*/*",
        "content-type": "text/plain;charset=UTF-8",
        "origin": "https://shop.example.jp",
        "user-agent": CHROME,
        "host": "abc123.lambda-url.ap-northeast-1.on.aws",
    }
    return {
        "version": "2.0",
        "rawPath": "/t",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {"http": {"method": "POST", "path": "/t", "sourceIp": ip}},
        "body": base64.b64encode(body.encode()).decode("ascii"),
        "isBase64Encoded": True,
    }


class _Context:
    function_name = "sodate-dev"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def import_ratio(runs: int = 15) -> tuple[float, float, float]:
    """Fastest cold import of the beacon path (app + its boto3 client module) over the fastest bare
    `import boto3`: the minimum is the cost itself, the rest is the machine's noise.  chalicelib is
    compiled first, as `make deploy` compiles it into the package (infra/bytecode.py): Lambda
    loads our modules from that bytecode and boto3's from its own, as here."""
    from infra.bytecode import compile_package

    compile_package(ROOT)

    def cold(code: str) -> float:
        probe = f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
        out = subprocess.run(
            [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
        )
        return float(out.stdout)

    bare, beacon = [], []
    for _ in range(runs):  # interleaved, so machine noise hits both alike
        bare.append(cold("import boto3"))
        # The root builds the beacon's parts on the first beacon: their modules count too.
        beacon.append(
            cold("import app, chalicelib.aws.clients, chalicelib.services.beacons, chalicelib.store.events")
        )
    b, p = min(bare), min(beacon)
    return p / b, b * 1000, p * 1000
