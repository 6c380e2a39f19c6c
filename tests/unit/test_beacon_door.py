"""The beacon's own door: a function URL's events and API Gateway's get the answers the Chalice
routes gave -- a stored page view, the tag compressed and cacheable, and a 4xx for anything else."""

from __future__ import annotations

import base64
import gzip
import json
import logging
from typing import Any
from urllib.parse import quote

import pytest

from chalicelib.domain.site import Site
from chalicelib.services.beacons import Beacons
from chalicelib.web import beacon_door, tag_js
from tests.fakes import FakeClock, MemorySites

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
SHOP = Site("s_shop", "Shop", ("shop.example.jp",), "site-secret", "none", "2026-01-01T00:00:00+00:00")
VIEW = {
    "site": "s_shop",
    "k": "pageview",
    "u": "https://shop.example.jp/tea?utm_source=news",
    "v": "visitor-0001",
}


@pytest.fixture
def sites() -> MemorySites:
    sites = MemorySites()
    sites.put_site(SHOP)
    return sites


def beacons_over(sites: MemorySites) -> Any:
    made = Beacons(sites, 90, FakeClock(), identify=lambda site, visitor, token: "")
    return lambda: made


def url_event(method: str, path: str, body: bytes = b"", query: str = "", **headers: str) -> dict[str, Any]:
    """What a Lambda function URL hands the function (payload format 2.0)."""
    return {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"user-agent": CHROME, "origin": "https://shop.example.jp", **headers},
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": "203.0.113.7"}},
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }


def through_url(event: dict[str, Any], sites: MemorySites) -> tuple[int, dict[str, str], bytes]:
    answer = beacon_door.respond(beacon_door.from_url(event), beacons_over(sites))
    return answer["statusCode"], answer["headers"], base64.b64decode(answer["body"])


def test_a_page_view_through_the_function_url_is_stored_with_cors_for_its_page(sites):
    status, headers, body = through_url(
        url_event("POST", "/t", json.dumps(VIEW).encode(), **{"content-type": "text/plain;charset=UTF-8"}),
        sites,
    )
    assert (status, body) == (204, b"")
    assert headers["Access-Control-Allow-Origin"] == "https://shop.example.jp"
    assert headers["Cache-Control"] == "no-store" and headers["X-Content-Type-Options"] == "nosniff"
    assert [(owner, [h["path"] for h in hits]) for owner, hits in sites.hits.items()] == [
        ("v#s_shop#visitor-0001", ["/tea"])
    ]


def test_the_pixel_through_the_function_url_is_a_gif_and_a_stored_view(sites):
    status, headers, body = through_url(
        url_event("GET", "/t.gif", query="d=" + quote(json.dumps(VIEW))), sites
    )
    assert (status, headers["Content-Type"], body[:6]) == (200, "image/gif", b"GIF89a")
    assert len(sites.hits) == 1


def test_a_beacon_refused_gets_the_same_4xx_as_through_the_api(sites):
    foreign = dict(VIEW, u="https://evil.example/")
    status, _, _ = through_url(
        url_event("POST", "/t", json.dumps(foreign).encode(), **{"content-type": "text/plain"}), sites
    )
    assert status == 403 and not sites.hits
    broken = dict(VIEW, u="https://[::1/unbalanced")  # urlsplit raises on it: a 400, not a crash
    status, _, _ = through_url(
        url_event("POST", "/t", json.dumps(broken).encode(), **{"content-type": "text/plain"}), sites
    )
    assert status == 400 and sites.rejected("s_shop", "2026-11-23") == {"foreign_url": 1, "bad_url": 1}


@pytest.mark.parametrize(
    ("method", "path", "kind", "status"),
    [
        ("GET", "/t", "text/plain", 405),
        ("POST", "/t", "application/x-www-form-urlencoded", 415),
        ("POST", "/t.gif", "text/plain", 405),
        ("DELETE", "/tag.js", "", 405),
        ("GET", "/admin/contacts", "", 404),
    ],
)
def test_anything_else_at_the_door_is_a_4xx_that_says_why(sites, method, path, kind, status):
    got, headers, body = through_url(url_event(method, path, b"{}", **{"content-type": kind}), sites)
    assert got == status and headers["Content-Type"] == "application/json"
    assert json.loads(body)["Message"] and not sites.hits


def test_the_tag_travels_gzipped_with_an_etag_and_an_hour_of_cache(sites):
    status, headers, body = through_url(
        url_event("GET", "/tag.js", **{"accept-encoding": "gzip, deflate, br"}), sites
    )
    assert status == 200 and headers["Content-Encoding"] == "gzip" and headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(body).decode() == tag_js()
    assert len(body) <= 1024, "one small packet on every page"
    assert "max-age=3600" in headers["Cache-Control"] and headers["Cache-Control"].startswith("public")
    again, cached, nothing = through_url(
        url_event("GET", "/tag.js", **{"if-none-match": headers["ETag"], "accept-encoding": "gzip"}), sites
    )
    assert (again, nothing, cached["ETag"]) == (304, b"", headers["ETag"])


@pytest.mark.parametrize("accepts", ["", "identity", "gzip;q=0", "br"])
def test_a_browser_that_takes_no_gzip_gets_the_tag_as_it_is(sites, accepts):
    status, headers, body = through_url(url_event("GET", "/tag.js", **{"accept-encoding": accepts}), sites)
    assert status == 200 and "Content-Encoding" not in headers and body.decode() == tag_js()


def test_an_api_gateway_event_for_another_path_is_left_to_chalice():
    assert beacon_door.from_rest({"requestContext": {"resourcePath": "/admin/contacts"}}) is None


def test_a_failure_inside_is_a_logged_500_not_a_crash(caplog):
    def broken() -> Any:
        raise RuntimeError("the table is gone")

    call = beacon_door.from_url(url_event("POST", "/t", b"{}", **{"content-type": "text/plain"}))
    with caplog.at_level(logging.ERROR):
        answer = beacon_door.respond(call, broken, rest=True)
    assert answer["statusCode"] == 500 and "multiValueHeaders" in answer
    assert "the table is gone" in caplog.text
