"""A real browser on the demo site: Debian's Chromium, headless, driven by Selenium.

The tag runs as it would for a visitor: page view on load, a single-page-app
navigation, and a purchase; the hits are read back through the admin API.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import urllib.request
from typing import Any

from selenium.webdriver.common.by import By

from tests.e2e.conftest import PERSON, Stack, chromium, wait_for


def test_the_tag_reports_views_spa_navigation_and_a_purchase(stack: Stack, browser: Any) -> None:
    site = stack.env["SODATE_SITE_ID"]
    browser.get(stack.env["SODATE_DEMO_URL"] + "pricing")
    visitor = wait_for(
        lambda: browser.execute_script(
            "return window.sodate && window.sodate.loaded && localStorage.getItem('sodate_vid')"
        )
    )

    def timeline(at_least: int = 3) -> list[dict[str, Any]]:
        status, body = stack.api(f"/admin/sites/{site}/visitors/{visitor}/timeline")
        assert status == 200
        hits: list[dict[str, Any]] = body["hits"]
        return hits if len(hits) >= at_least else []

    browser.find_element(By.ID, "spa").click()
    assert wait_for(lambda: timeline(2)), (
        "the SPA's view is in before the purchase (no person clicks within a millisecond)"
    )
    browser.find_element(By.ID, "buy").click()
    newest_first = wait_for(timeline)
    assert [h["kind"] for h in newest_first] == ["conversion", "pageview", "pageview"]
    purchase, spa, first = newest_first
    assert (purchase["name"], purchase["amount"]) == ("purchase", "1200")
    assert purchase["props"]["skus"] == "TEA-100" and purchase["props"]["order_id"].startswith("D-")
    assert spa["path"] == "/products/tea" and spa["utm"] == {"utm_source": "spa"}
    assert first["path"] == "/pricing" and first["title"] == "Pricing - Demo shop"
    assert "bot" not in first and first["ip"] == "127.0.0.0"

    status, body = stack.api(f"/admin/sites/{site}/pages")
    assert status == 200
    assert {p["path"] for p in body["pages"]} >= {"/pricing", "/products/tea"}


def test_headless_automation_is_filed_as_a_bot(stack: Stack) -> None:
    driver = chromium(None)
    try:
        driver.get(stack.env["SODATE_DEMO_URL"])
        visitor = wait_for(lambda: driver.execute_script("return localStorage.getItem('sodate_vid')"))
        site = stack.env["SODATE_SITE_ID"]
        hits = wait_for(lambda: stack.api(f"/admin/sites/{site}/visitors/{visitor}/timeline")[1]["hits"])
        assert hits[0]["bot"] == "user_agent:headless"
    finally:
        driver.quit()
        shutil.rmtree(driver.profile_dir, ignore_errors=True)


def test_a_browser_sending_do_not_track_gets_no_identifier(stack: Stack) -> None:
    options_prefs = {"enable_do_not_track": True}
    driver = chromium(PERSON, prefs=options_prefs)
    try:
        driver.get(stack.env["SODATE_DEMO_URL"] + "products/tea")
        wait_for(lambda: driver.execute_script("return window.sodate && window.sodate.loaded"))
        assert driver.execute_script("return navigator.doNotTrack") == "1"
        assert driver.execute_script("return localStorage.getItem('sodate_vid')") is None
        site = stack.env["SODATE_SITE_ID"]
        pages = wait_for(
            lambda: [
                p for p in stack.api(f"/admin/sites/{site}/pages")[1]["pages"] if p["path"] == "/products/tea"
            ]
        )
        assert pages, "the view still counts, without an identifier"
    finally:
        driver.quit()
        shutil.rmtree(driver.profile_dir, ignore_errors=True)


def test_a_browser_that_blocks_site_data_still_counts_the_view_and_sees_no_error(stack: Stack) -> None:
    driver = chromium(PERSON, prefs={"profile.default_content_setting_values.cookies": 2})
    try:
        driver.get(stack.env["SODATE_DEMO_URL"] + "products/tea?blocked=1")
        assert wait_for(lambda: driver.execute_script("return window.sodate && window.sodate.loaded"))
        blocked = driver.execute_script("try { localStorage.length; return false } catch (e) { return true }")
        assert blocked, "this browser refuses site data, as the visitor asked"
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "tag.js" in e["message"]]
        assert errors == [], errors
        site = stack.env["SODATE_SITE_ID"]
        pages = wait_for(
            lambda: [
                p for p in stack.api(f"/admin/sites/{site}/pages")[1]["pages"] if "blocked=1" in p["last_url"]
            ]
        )
        assert pages, "the view counts, without an identifier"
        driver.save_screenshot(f"{tempfile.gettempdir()}/sodate-site-data-blocked.png")  # to look at
    finally:
        driver.quit()
        shutil.rmtree(driver.profile_dir, ignore_errors=True)


def sent_mail(stack: Stack) -> list[dict[str, Any]]:
    """What the emulator's SES accepted, from moto's own state endpoint."""
    with urllib.request.urlopen(stack.env["AWS_ENDPOINT_URL"] + "/moto-api/data.json", timeout=10) as answer:
        data = json.loads(answer.read())
    return list(data.get("ses", {}).get("Message", []))


def test_pricing_visits_make_a_known_visitor_hot_and_sales_hears_of_it(stack: Stack, browser: Any) -> None:
    stack.drop("hot.csv", b"email,name,company\nhana@example.com,Hana Ito,Ito Tea\n")
    assert stack.report("hot.csv")["created"] == 1
    status, hana = stack.api("/admin/contacts?email=hana@example.com")
    assert status == 200
    _, minted = stack.api(f"/admin/contacts/{hana['contact_id']}/link-token", method="POST")

    # She clicks a link in an email (the token identifies her), then reads pricing three more times.
    browser.get(stack.env["SODATE_DEMO_URL"] + "pricing?sodate_t=" + minted["token"])
    wait_for(lambda: "sodate_t" not in browser.current_url)  # the tag took it out of the address bar
    for _ in range(3):
        time.sleep(0.6)  # a person, not a burst (more than 5 hits a second is a bot)
        browser.get(stack.env["SODATE_DEMO_URL"] + "pricing")
    last_view = time.monotonic()

    def hot() -> dict[str, Any] | None:
        _, person = stack.api("/admin/contacts?email=hana@example.com")
        return person if "hot_leads" in person.get("segments", []) else None

    person = wait_for(hot, timeout=30)
    seconds = time.monotonic() - last_view
    assert person["grade"] == "B4" and person["scores"]["interest"] >= 59.9
    _, members = stack.api("/admin/segments/hot_leads/members")
    assert "hana@example.com" in {m["email"] for m in members["members"]}

    alerts = wait_for(lambda: [m for m in sent_mail(stack) if "Hana Ito" in m["subject"]], timeout=30)
    assert len(alerts) == 1
    assert alerts[0]["destinations"]["ToAddresses"] == ["sales@example.com"]
    assert alerts[0]["source"] == stack.env["SODATE_SENDER"]
    assert "/pricing" in alerts[0]["body"] and "Ito Tea" in alerts[0]["body"]
    print(f"page view -> hot segment and sales alert: {seconds:.1f} s")


def test_consent_given_before_the_tag_loaded_counts_from_the_first_view(stack: Stack, browser: Any) -> None:
    """The banner said yes before the tag arrived (consent required): the landing view -- the one
    with the campaign's UTM parameters -- already carries the visitor's id."""
    browser.get(stack.env["SODATE_DEMO_URL"] + "welcome?utm_source=newsletter")
    visitor = wait_for(lambda: browser.execute_script("return localStorage.getItem('sodate_vid')"))
    site = stack.env["SODATE_SITE_ID"]
    hits = wait_for(lambda: stack.api(f"/admin/sites/{site}/visitors/{visitor}/timeline")[1]["hits"])
    assert [(h["kind"], h["path"], h["utm"]) for h in hits] == [
        ("pageview", "/welcome", {"utm_source": "newsletter"})
    ]
