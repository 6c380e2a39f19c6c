"""The console's door in a real browser, on the local stack `make run` starts: the admin it made
(.local/env) signs in, lands on a page that says who they are, and signs out again."""

from __future__ import annotations

import tempfile
from typing import Any

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By

from tests.e2e.conftest import Stack, wait_for

SHOTS = tempfile.gettempdir()


def text_of(browser: Any, element_id: str) -> str:
    """The element's text, or "" while it is not there (or the page is being replaced)."""
    try:
        found = browser.find_elements(By.ID, element_id)
        return str(found[0].text) if found else ""
    except StaleElementReferenceException:
        return ""


def test_the_local_admin_signs_in_sees_who_they_are_and_signs_out(stack: Stack, browser: Any) -> None:
    env = stack.env
    user, password = env["SODATE_CONSOLE_USER"], env["SODATE_CONSOLE_PASSWORD"]
    assert env["SODATE_CONSOLE_URL"] == f"{env['SODATE_API']}/console/sign-in"

    browser.get(env["SODATE_CONSOLE_URL"] + "?lang=en")
    browser.find_element(By.ID, "email").send_keys(user)
    browser.find_element(By.ID, "password").send_keys("Not-the-password-1")
    browser.find_element(By.ID, "sign-in").click()
    assert wait_for(lambda: "not right" in text_of(browser, "error"))
    assert browser.get_cookie("sodate_session") is None

    browser.find_element(By.ID, "password").send_keys(password)  # the address is still filled in
    browser.find_element(By.ID, "sign-in").click()
    assert wait_for(lambda: text_of(browser, "email") == user)
    assert browser.find_element(By.ID, "role").get_attribute("data-role") == "admin"
    assert browser.current_url.startswith(f"{env['SODATE_API']}/console")
    cookie = browser.get_cookie("sodate_session")
    assert cookie and cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/"
    assert browser.execute_script("return document.cookie") == "", "no script reads the session"
    browser.save_screenshot(f"{SHOTS}/sodate-console-signed-in.png")  # to look at

    browser.find_element(By.ID, "sign-out").click()
    assert wait_for(lambda: browser.find_elements(By.ID, "sign-in"))
    assert "signed out" in browser.find_element(By.TAG_NAME, "main").text
    assert browser.get_cookie("sodate_session") is None
    browser.get(f"{env['SODATE_API']}/console")
    assert wait_for(lambda: browser.find_elements(By.ID, "sign-in")), "signed out: back at the door"
