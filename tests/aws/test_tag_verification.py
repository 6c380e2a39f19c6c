"""Tag verification fetches only the site's own pages, and never a private address outside the local stage."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.aws.conftest import _reset_caches
from tests.aws.test_beacons import auth, send


@pytest.fixture
def shop_page() -> Iterator[dict[str, Any]]:
    """A page on localhost; its HTML is whatever the test puts in state['html']."""
    state: dict[str, Any] = {"html": ""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = state["html"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://localhost:{server.server_address[1]}/landing"
    yield state
    server.shutdown()


def local_site(aws, api):
    body = json.dumps({"name": "Local", "domains": ["localhost", "169.254.169.254"]})
    answer = api.http.post(
        "/admin/sites", body=body, headers={**auth(aws), "Content-Type": "application/json"}
    )
    return answer.json_body


def verify(aws, api, site_id, url):
    return api.http.post(
        f"/admin/sites/{site_id}/verify",
        body=json.dumps({"url": url}),
        headers={**auth(aws), "Content-Type": "application/json"},
    )


def test_outside_the_local_stage_private_addresses_are_never_fetched(aws, api, shop_page):
    site = local_site(aws, api)
    for url in (shop_page["url"], "http://169.254.169.254/latest/meta-data/"):
        answer = verify(aws, api, site["site_id"], url)
        assert answer.status_code == 400 and "private, loopback or link-local" in answer.json_body["Message"]


def test_only_the_sites_own_domains_are_fetched(aws, api, site):
    answer = verify(aws, api, site["site_id"], "https://evil.example/")
    assert answer.status_code == 400 and "not one of this site's domains" in answer.json_body["Message"]


def test_a_page_with_the_tag_that_reports_is_ok(aws, api, shop_page, monkeypatch):
    monkeypatch.setenv("SODATE_STAGE", "local")
    _reset_caches()
    site = local_site(aws, api)
    shop_page["html"] = (
        f'<html><script async src="http://api.local/tag.js" data-site="{site["site_id"]}"></script>'
    )
    first = verify(aws, api, site["site_id"], shop_page["url"]).json_body
    assert (first["tag_present"], first["site_id_matches"], first["hit_in_last_24h"], first["ok"]) == (
        True,
        True,
        False,
        False,
    )
    assert first["problems"] == ["No hit from this page in the last 24 hours."]

    hit = {"site": site["site_id"], "u": shop_page["url"], "v": "visitor-1234"}
    assert send(api, hit, origin=shop_page["url"].rsplit("/", 1)[0]).status_code == 204
    assert verify(aws, api, site["site_id"], shop_page["url"]).json_body["ok"] is True

    shop_page["html"] = '<script src="http://api.local/tag.js" data-site="s_someone_else"></script>'
    wrong = verify(aws, api, site["site_id"], shop_page["url"]).json_body
    assert (
        wrong["tag_present"]
        and not wrong["site_id_matches"]
        and wrong["site_ids_found"] == ["s_someone_else"]
    )
    shop_page["html"] = "<html>no tag here</html>"
    assert verify(aws, api, site["site_id"], shop_page["url"]).json_body["tag_present"] is False
