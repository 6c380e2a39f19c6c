"""The console's users in real browsers on the local stack: an admin invites a marketer, whose
temporary password arrives in the local mailbox as Cognito would mail it; they choose their own,
get another role and are switched off (their open page is signed out at once), and once switched
on again reset a forgotten password with the mailed code.  The audit log shows each change."""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from typing import Any

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.e2e.conftest import PERSON, Stack, chromium, ready, text_of, wait_for
from tests.e2e.test_console_overview import serious_accessibility_problems, shot, sign_in

AOI = "aoi@example.jp"
NOBODY = "nobody-here@example.jp"  # no account
CHOSEN = "Aoi-chooses-9-own"
RESET = "Aoi-resets-7-again"


def clicked(browser: Any, selector: str) -> bool:
    """Clicks the element; False when the page has not drawn it yet or redrew it under us (the next
    try finds the new one)."""
    try:
        browser.find_element(By.CSS_SELECTOR, selector).click()
    except (NoSuchElementException, StaleElementReferenceException):
        return False
    return True


def pool_mail(stack: Stack, address: str, subject: str, seen: int = 0) -> str:
    """The text of the newest mail to `address` whose subject has `subject`, once there are more than `seen`."""

    def found() -> str | None:
        mails = [m for m in mails_to(stack, address) if subject in m["subject"]]
        return str(mails[0]["text"]) if len(mails) > seen else None

    return str(wait_for(found))


def mails_to(stack: Stack, address: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{stack.env['SODATE_MAILBOX_URL']}/messages.json", timeout=10) as answer:
        return [m for m in json.loads(answer.read())["messages"] if address in m["to"]]


def door(browser: Any, stack: Stack, email: str, password: str) -> None:
    browser.get(f"{stack.env['SODATE_CONSOLE_URL']}?lang=en")
    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "sign-in").click()


def state_of(browser: Any) -> str:
    return text_of(browser, f"#users tr[data-email='{AOI}'] td:nth-of-type(2)")


def test_an_admin_invites_a_marketer_who_chooses_a_password_is_switched_off_and_resets_it(
    stack: Stack, browser: Any
) -> None:
    # GIVEN the admin on the users page
    sign_in(stack, browser)
    browser.get(f"{stack.env['SODATE_API']}/console/users?lang=en")
    assert wait_for(lambda: ready(browser, "users"))
    assert stack.env["SODATE_CONSOLE_USER"] in text_of(browser, "#users")

    # WHEN they invite Aoi as a marketer
    browser.find_element(By.ID, "invite-email").send_keys(AOI)
    Select(browser.find_element(By.ID, "invite-role")).select_by_value("marketer")
    browser.find_element(By.ID, "invite-send").click()
    assert wait_for(lambda: state_of(browser) == "Invited (not signed in yet)")
    assert serious_accessibility_problems(browser) == []

    # THEN the pool's invitation reaches her with a temporary password, and she chooses her own
    invitation = pool_mail(stack, AOI, "invitation")
    temporary = re.search(r"temporary\s+password (\S+)\s+within", invitation)
    assert temporary, invitation
    aoi = chromium(PERSON)
    try:
        door(aoi, stack, AOI, temporary.group(1))
        assert wait_for(lambda: aoi.find_elements(By.ID, "new_password"))
        aoi.find_element(By.ID, "new_password").send_keys(CHOSEN)
        aoi.find_element(By.ID, "repeat").send_keys(CHOSEN)
        aoi.find_element(By.ID, "save").click()
        assert wait_for(lambda: ready(aoi, "overview"))
        assert aoi.find_element(By.ID, "role").get_attribute("data-role") == "marketer"
        assert "Users" not in aoi.find_element(By.TAG_NAME, "nav").text, "the users page is an admin's"

        # AND the admin makes her an analyst, then switches her off: her page is signed out at once
        browser.refresh()
        assert wait_for(lambda: state_of(browser) == "Active")
        Select(browser.find_element(By.ID, f"role-{AOI}")).select_by_value("analyst")
        assert wait_for(lambda: f"Role changed: {AOI}" in text_of(browser, "#status"))
        assert wait_for(lambda: clicked(browser, f"button[data-email='{AOI}']"))  # the list is redrawn
        assert wait_for(lambda: state_of(browser) == "Switched off")
        aoi.refresh()
        assert wait_for(lambda: aoi.find_elements(By.ID, "sign-in")), "signed out"
        door(aoi, stack, AOI, CHOSEN)
        assert wait_for(lambda: "not right" in text_of(aoi, "#error"))
        shot(browser, "console-users-en")
        audit = text_of(browser, "#audit")
        assert "POST /admin/users" in audit and f"PUT /admin/users/{{email}} {AOI}" in audit, audit

        # AND switched on again, she resets a forgotten password with the code the pool mails
        assert wait_for(lambda: clicked(browser, f"button[data-email='{AOI}']"))
        assert wait_for(lambda: state_of(browser) == "Active")
        for who in (NOBODY, AOI):  # first an address with no account: the page says the same
            aoi.get(f"{stack.env['SODATE_CONSOLE_URL']}?lang=en")
            assert wait_for(lambda: clicked(aoi, "#forgot"))
            assert wait_for(lambda: aoi.find_elements(By.ID, "send-code")), "the forgotten-password page"
            aoi.find_element(By.ID, "email").send_keys(who)
            aoi.find_element(By.ID, "send-code").click()
            assert wait_for(lambda who=who: aoi.find_elements(By.ID, "code") and who in text_of(aoi, "main"))
        code = re.search(r"\b(\d{6})\b", pool_mail(stack, AOI, "code"))
        assert code
        assert not mails_to(stack, NOBODY), "no code is mailed to an address without an account"
        wrong = f"{(int(code.group(1)) + 1) % 1000000:06d}"
        for typed in (wrong, code.group(1)):
            aoi.find_element(By.ID, "code").clear()
            aoi.find_element(By.ID, "code").send_keys(typed)
            aoi.find_element(By.ID, "new_password").send_keys(RESET)
            aoi.find_element(By.ID, "repeat").send_keys(RESET)
            aoi.find_element(By.ID, "reset").click()
            if typed == wrong:
                assert wait_for(lambda: "not right or has expired" in text_of(aoi, "#error"))
        assert wait_for(lambda: "Your password is set" in text_of(aoi, "main"))
        shot(aoi, "console-reset-done-en")
        door(aoi, stack, AOI, RESET)
        assert wait_for(lambda: ready(aoi, "overview"))
        assert aoi.find_element(By.ID, "role").get_attribute("data-role") == "analyst"
    finally:
        aoi.quit()
        shutil.rmtree(aoi.profile_dir, ignore_errors=True)
