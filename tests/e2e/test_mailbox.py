"""The local mailbox in a real browser: what SES took, listed and shown as the recipient would see
it, with links that work against the local API -- and SES's events published as on AWS: delivery
for every mail, a bounce and a complaint from SES's mailbox simulator addresses or on request."""

from __future__ import annotations

import tempfile
import urllib.error
import urllib.request
from email.message import EmailMessage
from typing import Any

import boto3
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By

from tests.e2e.conftest import Stack, wait_for
from tests.e2e.test_segments import eventually
from tests.e2e.test_signup_browser import contact, fill

SHOTS = tempfile.gettempdir()


def send(stack: Stack, to: str, subject: str) -> None:
    """A mail through SES and Sodate's configuration set, as the runner sends one."""
    env = stack.env
    ses = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    ).client("ses", endpoint_url=env["AWS_ENDPOINT_URL"])
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = env["SODATE_SENDER"], to, subject
    mail.set_content("本文です。")
    mail.add_alternative("<p>本文です。</p>", subtype="html")
    ses.send_raw_email(
        Source=env["SODATE_SENDER"],
        Destinations=[to],
        RawMessage={"Data": mail.as_bytes()},
        ConfigurationSetName=env["SODATE_CONFIGURATION_SET"],
    )


def row(browser: Any, stack: Stack, address: str) -> Any:
    browser.get(stack.env["SODATE_MAILBOX_URL"])
    rows = [r for r in browser.find_elements(By.CSS_SELECTOR, "tr") if address in r.text]
    return rows[0] if rows else None


def row_text(browser: Any, stack: Stack, address: str) -> str:
    found = row(browser, stack, address)
    return str(found.text) if found is not None else ""


def page_text(browser: Any) -> str:
    """The page's words, or nothing while it is being replaced by the next."""
    try:
        return str(browser.find_element(By.TAG_NAME, "main").text)
    except (StaleElementReferenceException, NoSuchElementException):  # between two pages
        return ""


def test_a_confirmation_mail_is_read_in_the_mailbox_and_its_link_confirms(stack: Stack, browser: Any) -> None:
    # GIVEN a sign-up on the form's own page
    address = "mailbox-reader@example.com"
    browser.get(f"{stack.env['SODATE_API']}/forms/{stack.env['SODATE_SITE_ID']}/newsletter")
    fill(browser, browser.find_element(By.TAG_NAME, "form"), address)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # WHEN the person opens the local mailbox
    listed = wait_for(lambda: row(browser, stack, address))
    assert "ご登録の確認" in listed.text, listed.text
    wait_for(lambda: "Delivery" in row_text(browser, stack, address))  # SES said it was delivered
    row(browser, stack, address).find_element(By.TAG_NAME, "a").click()
    # THEN the mail shows as sent: headers, the text, the HTML in a frame of its own
    page = browser.find_element(By.TAG_NAME, "main").text
    assert address in page and "Subject" in page and "/confirm/" in page, page
    browser.save_screenshot(f"{SHOTS}/sodate-mailbox-message.png")  # to look at
    mailbox_page = browser.current_window_handle
    browser.switch_to.frame(browser.find_element(By.TAG_NAME, "iframe"))
    link = next(
        a for a in browser.find_elements(By.TAG_NAME, "a") if "/confirm/" in (a.get_attribute("href") or "")
    )
    assert link.get_attribute("href").startswith(stack.env["SODATE_API"]), "links point at the local API"
    link.click()  # a mail client opens it in the browser
    browser.switch_to.default_content()
    opened = wait_for(lambda: [h for h in browser.window_handles if h != mailbox_page])
    browser.switch_to.window(opened[0])
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "form button"))
    browser.find_element(By.CSS_SELECTOR, "form button").click()
    wait_for(lambda: contact(stack, address)["status"] == "subscribed")


def test_simulator_addresses_and_the_complain_button_suppress_as_ses_would(
    stack: Stack, browser: Any
) -> None:
    # GIVEN three subscribed people, two of them SES's mailbox simulator
    people = ["bounce@simulator.amazonses.com", "complaint@simulator.amazonses.com", "annoyed@example.com"]
    stack.drop("mailbox.csv", ("email,name,consent\n" + "".join(f"{p},X,yes\n" for p in people)).encode())
    assert stack.report("mailbox.csv")["created"] == 3
    # WHEN a mail goes to each, and the third person presses "complain" in the mailbox
    for person in people:
        send(stack, person, f"お知らせ {person}")
    wait_for(lambda: "Delivery" in row_text(browser, stack, "annoyed@example.com"))
    row(browser, stack, "annoyed@example.com").find_element(By.TAG_NAME, "a").click()
    complain = wait_for(lambda: browser.find_elements(By.XPATH, "//button[contains(., 'Complain')]"))
    complain[0].click()
    wait_for(lambda: "Complaint" in page_text(browser))

    # THEN SES's events reached Sodate: all three are off the mailing list, each for its reason
    def suppressed() -> None:
        found = {p: contact(stack, p) for p in people}
        assert all(c["status"] == "suppressed" for c in found.values()), {
            p: c["status"] for p, c in found.items()
        }

    eventually(suppressed, timeout=60)
    assert "Bounce" in row_text(browser, stack, "bounce@simulator.amazonses.com")
    assert "Delivery · Complaint" in row_text(browser, stack, "complaint@simulator.amazonses.com")


def test_the_mailbox_refuses_events_asked_from_another_site(stack: Stack) -> None:
    request = urllib.request.Request(
        stack.env["SODATE_MAILBOX_URL"] + "m/1/complain", data=b"", headers={"Origin": "https://evil.example"}
    )
    try:
        urllib.request.urlopen(request, timeout=10)
        raise AssertionError("a cross-site post was taken")
    except urllib.error.HTTPError as error:
        assert error.code == 403


def test_the_console_shows_the_local_mailbox_in_a_frame(stack: Stack, browser: Any) -> None:
    from tests.e2e.test_console_overview import serious_accessibility_problems, sign_in

    send(stack, "in-console@example.jp", "コンソールで読むメール")
    sign_in(stack, browser)
    browser.get(f"{stack.env['SODATE_API']}/console?lang=en")
    browser.find_element(By.LINK_TEXT, "Mailbox").click()

    frame = browser.find_element(By.ID, "mailbox")
    assert frame.get_attribute("src") == stack.env["SODATE_MAILBOX_URL"]
    browser.switch_to.frame(frame)
    assert wait_for(lambda: "in-console@example.jp" in page_text(browser) or browser.refresh(), timeout=30)
    assert "コンソールで読むメール" in page_text(browser)
    browser.switch_to.default_content()
    assert serious_accessibility_problems(browser) == []
