"""A real browser on the demo site: Debian's Chromium, headless, driven by Selenium.

The tag runs as it would for a visitor: page view on load, a single-page-app
navigation, and a purchase; the hits are read back through the admin API.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from tests.e2e.conftest import Stack

# Headless Chromium says "HeadlessChrome", which Sodate rightly files as a bot;
# this browser plays a person, so it presents an ordinary Chrome user agent.
PERSON = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


def chromium(user_agent: str | None, prefs: dict[str, Any] | None = None) -> Any:
    profile = tempfile.mkdtemp(prefix="sodate-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    if user_agent:
        options.add_argument(f"--user-agent={user_agent}")
    if prefs:
        options.add_experimental_option("prefs", prefs)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    driver.profile_dir = profile
    return driver


@pytest.fixture
def browser() -> Iterator[Any]:
    driver = chromium(PERSON)
    yield driver
    driver.quit()
    shutil.rmtree(driver.profile_dir, ignore_errors=True)


def wait_for(check: Any, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the hits")


def test_the_tag_reports_views_spa_navigation_and_a_purchase(stack: Stack, browser: Any) -> None:
    site = stack.env["SODATE_SITE_ID"]
    browser.get(stack.env["SODATE_DEMO_URL"] + "pricing")
    visitor = wait_for(
        lambda: browser.execute_script(
            "return window.sodate && window.sodate.loaded && localStorage.getItem('sodate_vid')"
        )
    )
    browser.find_element(By.ID, "spa").click()
    browser.find_element(By.ID, "buy").click()

    def timeline() -> list[dict[str, Any]]:
        status, body = stack.api(f"/admin/sites/{site}/visitors/{visitor}/timeline")
        assert status == 200
        hits: list[dict[str, Any]] = body["hits"]
        return hits if len(hits) >= 3 else []

    newest_first = wait_for(timeline)
    assert [h["kind"] for h in newest_first] == ["conversion", "pageview", "pageview"]
    purchase, spa, first = newest_first
    assert (purchase["name"], purchase["amount"], purchase["props"]) == (
        "purchase",
        "1200",
        {"product": "tea", "quantity": "2"},
    )
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
