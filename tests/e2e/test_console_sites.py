"""The sites page in a real browser on the local stack: the demo shop's tag to copy (this
installation's address, the site's id), the pages the tag reported from, a check on demand of
a page that has the tag, and today's rejected hits."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By

from tests.e2e.conftest import Stack, open_listed, ready, wait_for
from tests.e2e.test_console_overview import serious_accessibility_problems, shot, sign_in


def reported(stack: Stack, path: str) -> bool:
    status, found = stack.api(f"/admin/sites/{stack.env['SODATE_SITE_ID']}/pages?limit=500")
    return status == 200 and any(p["path"] == path for p in found["pages"])


def test_the_demo_shops_tag_pages_and_a_check_on_demand(stack: Stack, browser: Any, moved_clock: Any) -> None:
    # GIVEN a visit to the demo shop's pricing page, which carries the tag
    browser.get(stack.env["SODATE_DEMO_URL"] + "pricing")
    assert wait_for(lambda: reported(stack, "/pricing"), timeout=30)
    sign_in(stack, browser)

    # WHEN the sites are listed and the demo site opened
    browser.get(f"{stack.env['SODATE_API']}/console/sites?lang=en")
    assert wait_for(lambda: ready(browser, "sites"))
    assert "local-demo" in browser.find_element(By.ID, "sites").text
    open_listed(browser, "sites", "Local demo", "site")

    # THEN the tag to copy names this installation's tag.js and the site
    snippet = browser.find_element(By.ID, "snippet").get_attribute("value")
    assert f'src="{stack.env["SODATE_API"]}/tag.js" data-site="local-demo"' in snippet
    assert snippet.startswith("<script>window.sodate=window.sodate||{q:[]};")
    browser.find_element(By.ID, "copy").click()
    assert wait_for(lambda: browser.find_element(By.ID, "copied").text)
    # AND the pages the tag reported from are listed, with their hits
    row = browser.find_element(By.CSS_SELECTOR, "#pages tr[data-path='/pricing']")
    assert int(row.find_elements(By.TAG_NAME, "td")[0].text.replace(",", "")) >= 1

    # WHEN they check the pricing page on demand
    address = browser.find_element(By.ID, "verify-url")
    address.clear()
    address.send_keys(stack.env["SODATE_DEMO_URL"] + "pricing")
    browser.find_element(By.CSS_SELECTOR, "#verify button").click()

    # THEN the tag is found there, with the right site id, and reporting
    assert wait_for(lambda: browser.find_elements(By.ID, "verdict-says"), timeout=30)
    assert browser.find_element(By.ID, "verdict-says").text == "The tag is there and reporting"
    shot(browser, "console-site")
    assert serious_accessibility_problems(browser) == []

    # WHEN eight days pass without a visit, THEN the page stands out as quiet
    moved_clock(8)
    sign_in(stack, browser)  # eight days on, the session has ended
    browser.get(f"{stack.env['SODATE_API']}/console/sites?id=local-demo&lang=en")
    assert wait_for(lambda: ready(browser, "site"))
    row = browser.find_element(By.CSS_SELECTOR, "#pages tr[data-path='/pricing']")
    assert row.get_attribute("class") == "quiet" and "days without a hit" in row.text
