"""The sites as the console lists them: every registered site by name, with today's rejected
hits by reason, for anyone signed in; nobody else."""

from __future__ import annotations

import json

from tests.aws.test_beacons import send
from tests.aws.test_console_auth import bearer, session
from tests.aws.test_identity import pageview


def test_every_site_is_listed_by_name_with_todays_rejected_hits(aws, api, site, people):
    other = {"name": "Another shop", "domains": ["another.example.jp"], "consent_mode": "required"}
    made = api.http.post(
        "/admin/sites", body=json.dumps(other), headers={**bearer(aws), "Content-Type": "application/json"}
    )
    assert made.status_code == 201
    stranger = {**pageview(site, "device-01", "/"), "u": "https://elsewhere.example.com/"}
    assert send(api, stranger).status_code == 403  # not one of the site's domains

    listed = api.http.get("/admin/sites", headers=session(api, people["analyst"]))

    assert listed.status_code == 200
    sites = listed.json_body["sites"]
    assert [s["name"] for s in sites] == ["Another shop", site["name"]]
    assert "secret" not in json.dumps(sites), "a site's secret is shown once, when it is made"
    mine = sites[1]
    assert mine["site_id"] == site["site_id"] and sum(mine["rejected_today"].values()) == 1
    assert api.http.get("/admin/sites").status_code == 401


def test_the_mailbox_is_make_runs_alone(aws, api, people):
    admin = session(api, people["admin"])

    assert api.http.get("/console/mailbox", headers=admin).status_code == 404
    assert "console/mailbox" not in api.http.get("/console/contacts", headers=admin).body.decode()


def test_the_sites_page_gives_the_tag_from_the_beacon_functions_url_once_deployed(
    aws, api, people, monkeypatch
):
    """make deploy sets SODATE_BEACON_URL; the page's script then writes the snippet with it."""
    from chalicelib.settings import get_settings

    admin = session(api, people["admin"])
    assert "data-tag" not in api.http.get("/console/sites", headers=admin).body.decode(), "locally: the API's"
    monkeypatch.setenv("SODATE_BEACON_URL", "https://abc123.lambda-url.ap-northeast-1.on.aws/")
    get_settings.cache_clear()
    try:
        page = api.http.get("/console/sites", headers=admin).body.decode()
        other = api.http.get("/console/contacts", headers=admin).body.decode()
    finally:
        monkeypatch.delenv("SODATE_BEACON_URL")
        get_settings.cache_clear()
    assert "data-tag='https://abc123.lambda-url.ap-northeast-1.on.aws'" in page
    assert "data-tag" not in other
