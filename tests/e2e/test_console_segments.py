"""A segment's page in a real browser on the local stack: its size now and by day, who entered
and left, its rule as written, its members (each opening their contact page), and an export
with a link that downloads it."""

from __future__ import annotations

import urllib.request
from typing import Any

from selenium.webdriver.common.by import By

from tests.e2e.conftest import Stack, open_listed, ready, wait_for
from tests.e2e.test_console_overview import serious_accessibility_problems, shot, sign_in

CSV = b"email,name,consent\r\nseg-a@example.jp,A,yes\r\nseg-b@example.jp,B,yes\r\n"


def member_emails(stack: Stack) -> set[str]:
    status, found = stack.api("/admin/segments/mailable/members?limit=500")
    assert status == 200
    return {m["email"] for m in found["members"]}


def test_a_marketer_reads_a_segment_and_exports_it(stack: Stack, browser: Any) -> None:
    # GIVEN two people who said yes to mail, in the mailable segment
    stack.drop("segment-people.csv", CSV)
    assert stack.report("segment-people.csv")["created"] == 2
    assert wait_for(lambda: {"seg-a@example.jp", "seg-b@example.jp"} <= member_emails(stack), timeout=60)

    def counted() -> Any:  # the events stream counts their entries a moment after they join
        status, history = stack.api("/admin/segments/mailable/history?range=7d")
        return history if status == 200 and history["entered"][-1] >= 2 else None

    history = wait_for(counted, timeout=60)
    sign_in(stack, browser)

    # WHEN the segments are listed and mailable is opened for the last 30 days
    browser.get(f"{stack.env['SODATE_API']}/console/segments?lang=en")
    assert wait_for(lambda: ready(browser, "segments"))
    assert "mailable" in browser.find_element(By.ID, "segments-list").text
    open_listed(browser, "segments", "mailable", "segment")
    browser.find_element(By.LINK_TEXT, "30 days").click()
    assert wait_for(lambda: "range=30d" in browser.current_url and ready(browser, "segment"))

    # THEN it shows its size, its days, its rule and its members
    assert "name=mailable" in browser.current_url and "range=30d" in browser.current_url
    size = browser.find_element(By.CSS_SELECTOR, "#size-now .value").text
    assert int(size.replace(",", "")) == history["size"]
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#sizes details table tbody tr")]
    assert len(rows) == 30, rows
    assert "field: status" in browser.find_element(By.ID, "rule").text
    listed = browser.find_element(By.ID, "members").text
    assert "seg-a@example.jp" in listed and "seg-b@example.jp" in listed
    shot(browser, "console-segment")
    assert serious_accessibility_problems(browser) == []

    # WHEN they export it, THEN the link downloads the members
    browser.find_element(By.ID, "export-segment").click()
    assert wait_for(lambda: browser.find_elements(By.ID, "export-download"))
    link = browser.find_element(By.ID, "export-download").get_attribute("href")
    with urllib.request.urlopen(link, timeout=10) as answer:
        assert "seg-b@example.jp" in answer.read().decode("utf-8-sig")

    # AND a member opens their contact page
    browser.find_element(By.LINK_TEXT, "seg-a@example.jp").click()
    assert wait_for(lambda: browser.find_elements(By.ID, "profile"))
    assert "seg-a@example.jp" in browser.find_element(By.ID, "profile").text
