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
from chalicelib.domain.hits import Hit
from chalicelib.domain.site import Site
from chalicelib.services.beacons import Beacons
from chalicelib.web import tag_js

ROOT = Path(__file__).resolve().parent.parent
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


def tag_gzip_bytes() -> int:
    return len(gzip.compress(tag_js().encode("utf-8"), compresslevel=9))


class StubStore:
    """The EventStore's surface with AWS stubbed: what a beacon costs us, not DynamoDB."""

    def __init__(self, site: Site) -> None:
        self._site = site
        self.writes = 0

    def site(self, site_id: str) -> Site | None:
        return self._site if site_id == self._site.site_id else None

    def linked_contact(self, site_id: str, visitor_id: str) -> str | None:
        return None

    def record(self, hit: Hit, owner: str, at: str, expires_at: int | None) -> None:
        self.writes += 2 if hit.kind == "pageview" else 1

    def count_rejected(self, site_id: str, reason: str, day: str) -> None:
        self.writes += 1


def beacon_cpu_us(beacons_count: int = 20_000) -> tuple[float, float]:
    """CPU µs per beacon through the Lambda entry point (Chalice routing included), and writes per view."""
    import app as sodate

    site = Site("s_bench", "Bench", ("shop.example.jp",), "secret", "none", "2026-01-01")
    store = StubStore(site)
    bootstrap.reset()
    bootstrap.provide(beacons=Beacons(store, 90, clock.now, identify=lambda site, visitor, token: ""))
    events = []
    for i in range(beacons_count):
        body = json.dumps(
            {
                "site": "s_bench",
                "k": "pageview",
                "v": f"visitor-{i % 5000:06d}",
                "u": f"https://shop.example.jp/products/{i % 300}?utm_source=mail",
                "t": "Green tea",
                "r": "https://www.google.com/",
                "s": "1920x1080",
            }
        )
        events.append(_api_event(body, f"203.0.{i % 250}.{i % 200}"))
    context = _Context()
    started = time.process_time()
    for event in events:
        answer = sodate.app(event, context)
        assert answer["statusCode"] == 204, answer
    elapsed = time.process_time() - started
    bootstrap.reset()
    return elapsed / beacons_count * 1e6, store.writes / beacons_count


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


class _Context:
    function_name = "sodate-dev"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def import_ratio(runs: int = 15) -> tuple[float, float, float]:
    """Fastest cold import of the beacon path (app + its boto3 client module) over the fastest bare
    `import boto3`: the minimum is the cost itself, the rest is the machine's noise."""

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
