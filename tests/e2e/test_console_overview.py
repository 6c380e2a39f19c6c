"""The console's overview in a real browser on the local stack: a visit to the demo shop shows
up in its charts, the numbers drawn are the API's, the time range and the language switch, and
axe-core finds no serious accessibility problem.  Screenshots land in .local/screenshots."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By

from tests.e2e.conftest import ROOT, Stack, wait_for

SHOTS = ROOT / ".local" / "screenshots"
AXE = ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js"


def shot(browser: Any, name: str) -> Path:
    """A screenshot of the whole page, to look at (the window grows to the page's height)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, max(800, min(int(height) + 40, 4000)))
    path = SHOTS / f"{name}.png"
    browser.save_screenshot(str(path))
    return path


def sign_in(stack: Stack, browser: Any, lang: str = "en") -> None:
    env = stack.env
    browser.get(f"{env['SODATE_CONSOLE_URL']}?lang={lang}")
    browser.find_element(By.ID, "email").send_keys(env["SODATE_CONSOLE_USER"])
    browser.find_element(By.ID, "password").send_keys(env["SODATE_CONSOLE_PASSWORD"])
    browser.find_element(By.ID, "sign-in").click()
    wait_for(lambda: browser.find_elements(By.ID, "sign-out"))


def api_json(browser: Any, path: str) -> Any:
    """What the console's API answers this browser (its session cookie, its origin)."""
    script = (
        "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => r.text()).then(done);"
    )
    return json.loads(browser.execute_async_script(script, path))


def serious_accessibility_problems(browser: Any) -> list[str]:
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    script = (
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']}).then(r => done(r.violations));"
    )
    violations = browser.execute_async_script(script)
    return [
        f"{v['id']}: {v['help']} {[n['target'] for n in v['nodes']]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def card(browser: Any, card_id: str) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, f"#{card_id} .value").text)


def axis_days(browser: Any, chart_id: str) -> list[str]:
    """What a chart's x axis says (it is drawn on a canvas; the chart keeps its words beside it)."""
    said = browser.find_element(By.CSS_SELECTOR, f"#{chart_id} .plot").get_attribute("data-days")
    return [d for d in (said or "").split("|") if d]


def test_the_overview_draws_what_the_counters_hold(stack: Stack, browser: Any) -> None:
    browser.set_script_timeout(20)
    sign_in(stack, browser)
    before = api_json(browser, "console/api/overview?range=today")

    # GIVEN a visit to the demo shop by a new visitor
    browser.get(stack.env["SODATE_DEMO_URL"])
    assert wait_for(lambda: browser.execute_script("return document.cookie.includes('_sodate')") or True)
    browser.get(f"{stack.env['SODATE_API']}/console?lang=en&range=today")

    def counted() -> Any:
        now = api_json(browser, "console/api/overview?range=today")
        return now if now["totals"]["pageviews_anonymous"] > before["totals"]["pageviews_anonymous"] else None

    seen = wait_for(counted, timeout=30)

    # WHEN the overview is drawn
    browser.refresh()
    assert wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "body[data-ready=overview]"))

    # THEN its charts are there, and the numbers on the page are the API's
    assert len(browser.find_elements(By.CSS_SELECTOR, "figure.chart canvas")) == 5
    views = seen["totals"]["pageviews_known"] + seen["totals"]["pageviews_anonymous"]
    assert card(browser, "card-pageviews") == f"{views:,}"
    assert card(browser, "card-contacts") == f"{seen['contacts']:,}"
    cells = browser.find_elements(By.CSS_SELECTOR, "#grades td")
    assert len(cells) == 16 and sum(int(c.text.replace(",", "")) for c in cells) == sum(
        seen["grades"].values()
    )
    assert len(browser.find_elements(By.CSS_SELECTOR, "#rfm td")) == 25
    first_chart_ms = int(browser.find_element(By.TAG_NAME, "body").get_attribute("data-first-chart"))
    assert first_chart_ms > 0
    assert serious_accessibility_problems(browser) == []
    shot(browser, "console-overview-en")
    # AND a chart of one day marks that day on its axis, not hours ("12pm") no count was taken at
    assert axis_days(browser, "chart-pageviews")
    assert all(re.fullmatch(r"\d{1,2} [A-Z][a-z]{2}", d) for d in axis_days(browser, "chart-pageviews"))

    # AND 30 days are 30 rows of numbers behind the page-view chart
    browser.find_element(By.LINK_TEXT, "30 days").click()
    assert wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "body[data-ready=overview]"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#chart-pageviews table.numbers tbody tr")
    assert len(rows) == 30

    # AND in Japanese the same page speaks Japanese
    browser.find_element(By.LINK_TEXT, "日本語").click()
    assert wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "body[data-ready=overview]"))
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ja"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart-pageviews table.numbers tbody tr")) == 30
    assert "ページビュー" in browser.find_element(By.CSS_SELECTOR, "#chart-pageviews figcaption").text
    assert serious_accessibility_problems(browser) == []
    shot(browser, "console-overview-ja")
    days = axis_days(browser, "chart-pageviews")
    assert 2 <= len(days) <= 16 and all(re.fullmatch(r"\d{1,2}月\d{1,2}日", d) for d in days), days
