"""The beacon endpoints over moto: what a browser, a bot and an attacker each get back."""

from __future__ import annotations

import json
from typing import Any

import pytest

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def auth(aws):
    return {"Authorization": f"Bearer {aws['token']}"}


def send(api, body, origin="https://shop.example.jp", agent=CHROME, **headers):
    raw = body if isinstance(body, str) else json.dumps(body)
    return api.http.post(
        "/t",
        body=raw,
        headers={
            "Content-Type": "text/plain;charset=UTF-8",
            "Origin": origin,
            "User-Agent": agent,
            **headers,
        },
    )


def stored(aws):
    items = aws["session"].client("dynamodb").scan(TableName=aws["EventsTable"])["Items"]
    return [i for i in items if i["pk"]["S"].startswith(("v#", "a#"))]


def view(site, **extra):
    return {
        "site": site["site_id"],
        "k": "pageview",
        "u": "https://shop.example.jp/pricing?utm_source=news",
        "t": "Pricing",
        "v": "visitor-0001",
        **extra,
    }


def test_a_page_view_is_stored_once_with_cors_for_its_own_origin(aws, api, site):
    answer = send(api, view(site))
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == "https://shop.example.jp"
    (hit,) = stored(aws)
    assert (
        hit["pk"]["S"] == f"v#{site['site_id']}#visitor-0001" and hit["utm"]["M"]["utm_source"]["S"] == "news"
    )
    assert len(json.dumps(hit).encode()) < 1024, "one write unit"
    assert int(hit["expires_at"]["N"]) > 0, "anonymous history expires"
    pages = api.http.get(f"/admin/sites/{site['site_id']}/pages", headers=auth(aws)).json_body["pages"]
    assert [(p["path"], p["hits"]) for p in pages] == [("/pricing", 1)]


@pytest.mark.parametrize("accept", ["image/avif,image/webp,*/*", None, "text/html", "application/json"])
def test_the_pixel_form_answers_a_gif_whatever_the_request_accepts(aws, api, site, accept):
    from urllib.parse import quote

    answer = api.http.get(
        f"/t.gif?d={quote(json.dumps(view(site)))}",
        headers={"User-Agent": CHROME, **({"Accept": accept} if accept else {})},
    )
    assert answer.status_code == 200, answer.body
    assert answer.headers["Content-Type"] == "image/gif"
    assert answer.body.startswith(b"GIF89a")
    assert len(stored(aws)) == 1


def test_hostile_hits_get_4xx_are_counted_and_never_stored(aws, api, site):
    assert send(api, "x" * 5000).status_code == 413
    assert send(api, "{not json").status_code == 400
    assert send(api, {**view(site), "site": "s_guess"}).status_code == 404
    foreign = send(api, view(site), origin="https://evil.example")
    assert foreign.status_code == 403 and "Access-Control-Allow-Origin" not in foreign.headers
    assert send(api, view(site, u="https://evil.example/phish")).status_code == 403
    assert stored(aws) == []
    described = api.http.get(f"/admin/sites/{site['site_id']}", headers=auth(aws)).json_body
    assert described["rejected_today"] == {"foreign_origin": 1, "foreign_url": 1}
    assert "secret" not in described


def test_script_in_a_hit_is_stored_as_text(aws, api, site):
    evil = "<script>alert(1)</script>"
    assert (
        send(
            api, view(site, t=evil, r=f"https://x/?{evil}", u=f"https://shop.example.jp/?utm_source={evil}")
        ).status_code
        == 204
    )
    (hit,) = stored(aws)
    assert hit["title"]["S"] == evil and hit["utm"]["M"]["utm_source"]["S"] == evil


def test_bots_are_stored_as_bots_and_never_as_pages(aws, api, site):
    assert send(api, view(site), agent="Mozilla/5.0 (compatible; Googlebot/2.1)").status_code == 204
    (hit,) = stored(aws)
    assert hit["bot"]["S"] == "user_agent:bot"
    assert api.http.get(f"/admin/sites/{site['site_id']}/pages", headers=auth(aws)).json_body["pages"] == []


def test_a_browser_that_asks_not_to_be_tracked_keeps_no_identifier(aws, api, site):
    assert send(api, view(site), **{"Sec-GPC": "1"}).status_code == 204
    (hit,) = stored(aws)
    assert "visitor" not in hit and hit["pk"]["S"].startswith("a#")


def test_a_flood_from_one_visitor_is_rate_limited(aws, api, site):
    from chalicelib import bootstrap
    from chalicelib.services.beacons import Beacons
    from chalicelib.store.events import EventStore

    store = EventStore(aws["session"].client("dynamodb"), aws["SitesTable"], aws["EventsTable"])
    still = Beacons(store, 90, lambda: 1_800_000_000.0, identify=lambda *link: "")  # one window for it all
    bootstrap.provide(beacons=still)
    answers = [send(api, view(site)).status_code for _ in range(35)]
    assert answers.count(204) == 30 and answers[-1] == 429


def test_made_up_site_ids_never_push_a_real_site_out_of_the_cache(aws, api, site):
    from chalicelib.store.events import SITE_CACHE_ENTRIES, EventStore

    class Counted:  # the real client, its reads of the sites table counted
        def __init__(self, client: Any) -> None:
            self.client, self.reads = client, 0

        def get_item(self, **request: Any) -> Any:
            self.reads += 1
            return self.client.get_item(**request)

    db = Counted(aws["session"].client("dynamodb"))
    store = EventStore(db, aws["SitesTable"], aws["EventsTable"])
    assert store.site(site["site_id"]) is not None and db.reads == 1
    for n in range(2 * SITE_CACHE_ENTRIES):
        assert store.site(f"s_guess{n:05d}") is None
    assert db.reads == 1 + 2 * SITE_CACHE_ENTRIES
    assert store.site(site["site_id"]) is not None and db.reads == 1 + 2 * SITE_CACHE_ENTRIES, "still cached"
    assert store.site("s_guess00000", read=False) is None


def test_the_tag_is_served_small(api):
    answer = api.http.get("/tag.js")
    assert answer.status_code == 200 and "javascript" in answer.headers["Content-Type"]
    assert b"sendBeacon" in answer.body


def test_a_consent_requiring_site_keeps_no_identifier_without_consent(aws, api):
    body = json.dumps({"name": "Strict", "domains": ["strict.example.jp"], "consent_mode": "required"})
    strict = api.http.post(
        "/admin/sites", body=body, headers={**auth(aws), "Content-Type": "application/json"}
    )
    hit = {"site": strict.json_body["site_id"], "u": "https://strict.example.jp/", "v": "visitor-0001"}
    assert send(api, hit, origin="https://strict.example.jp").status_code == 204
    assert send(api, {**hit, "c": 1}, origin="https://strict.example.jp").status_code == 204
    owners = sorted(h["pk"]["S"].split("#")[0] for h in stored(aws))
    assert owners == ["a", "v"], "only the consented hit carries the visitor id"
