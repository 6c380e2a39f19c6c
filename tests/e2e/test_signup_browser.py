"""Signing up in a real browser on the local stack: the form the tag draws on the demo shop and the
hosted form page, the confirmation mail read from the emulator's SES, the page whose button
confirms, the way back to the shop -- and the robots and floods that get nothing."""

from __future__ import annotations

import re
import tempfile
import time
from typing import Any

import boto3
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from chalicelib.domain.tokens import sign
from tests.e2e.conftest import Stack, wait_for
from tests.e2e.test_scenario_journey import mails_to

SHOTS = tempfile.gettempdir()


def confirm_url(stack: Stack, address: str) -> str:
    mails = wait_for(lambda: mails_to(stack, address), timeout=10)
    text = next(p for p in mails[-1].walk() if p.get_content_type() == "text/plain")
    found = re.search(r"(https?://\S+/confirm/[\w.-]+)", text.get_payload(decode=True).decode())
    assert found
    return found.group(1)


def contact(stack: Stack, address: str) -> dict[str, Any]:
    status, person = stack.api(f"/admin/contacts?email={address}")
    assert status == 200, person
    found: dict[str, Any] = person
    return found


def fill(browser: Any, form: Any, email: str, name: str = "") -> None:
    form.find_element(By.CSS_SELECTOR, "input[name=email]").send_keys(email)
    if name:
        form.find_element(By.CSS_SELECTOR, "input[name=name]").send_keys(name)
    time.sleep(2.2)  # a person takes a moment; a form sent within 2 s of its page is a robot's


def test_the_embedded_form_double_opt_in_from_submission_to_subscribed(stack: Stack, browser: Any) -> None:
    address = "signup-embedded@example.com"
    browser.get(stack.env["SODATE_DEMO_URL"] + "newsletter")
    form = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#signup form"))[0]
    labels = [label.text for label in form.find_elements(By.TAG_NAME, "label")]
    assert labels[:3] == ["メールアドレス", "お名前", "お好きなお茶"], labels
    fill(browser, form, address, "花子")
    started = time.monotonic()
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    note = wait_for(lambda: form.find_element(By.CSS_SELECTOR, "[role=status]").text)
    assert "確認メール" in note
    link = confirm_url(stack, address)
    print(f"form sent -> confirmation mail accepted by SES: {time.monotonic() - started:.2f} s")
    browser.save_screenshot(f"{SHOTS}/sodate-signup-embedded.png")  # to look at
    assert contact(stack, address)["status"] == "pending"

    browser.get(link)  # what a mail scanner would do too: nothing changes
    assert browser.find_element(By.ID, "confirm").is_displayed()
    assert contact(stack, address)["status"] == "pending"
    browser.save_screenshot(f"{SHOTS}/sodate-signup-confirm-page.png")
    browser.find_element(By.ID, "confirm").click()
    assert wait_for(lambda: "Subscribed" in browser.title), "the page that says so"
    person = contact(stack, address)
    assert person["status"] == "subscribed" and person["name"] == "花子"
    assert person["topics"] == ["newsletter", "offers"]

    browser.find_element(By.ID, "continue").click()  # back to the shop: this browser is now hers
    wait_for(lambda: "/newsletter" in browser.current_url and "sodate_t" not in browser.current_url)

    def history() -> list[dict[str, Any]]:
        hits = stack.api(f"/admin/contacts/{person['contact_id']}/timeline")[1]["hits"]
        return [h for h in hits if h.get("kind") == "form"]

    assert wait_for(history)[0]["name"] == "newsletter", "the sign-up joins her history once proven"
    _, ledger = stack.api(f"/admin/contacts/{person['contact_id']}/consent")
    assert [(e["change"], e["source"]) for e in ledger["entries"]] == [
        ("requested", "form"),
        ("granted", "confirmation"),
    ]
    assert ledger["entries"][0]["detail"]["page"].endswith("/newsletter")


def test_the_hosted_form_page_posts_without_script_and_thanks(stack: Stack, browser: Any) -> None:
    address = "signup-hosted@example.com"
    browser.get(f"{stack.env['SODATE_API']}/forms/{stack.env['SODATE_SITE_ID']}/newsletter?lang=en")
    form = browser.find_element(By.TAG_NAME, "form")
    assert browser.find_element(By.CSS_SELECTOR, "label[for=f-email]").text.startswith("Email address")
    fill(browser, form, address)
    browser.find_element(By.CSS_SELECTOR, "input[name=topics][value=offers]").click()  # newsletter only
    browser.save_screenshot(f"{SHOTS}/sodate-signup-hosted.png")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert wait_for(lambda: "We have sent you an email" in browser.page_source), "the thank-you page"
    browser.get(confirm_url(stack, address))
    browser.find_element(By.ID, "confirm").click()
    assert wait_for(lambda: "Subscribed" in browser.title), "the page that says so"
    person = contact(stack, address)
    assert person["status"] == "subscribed" and person["topics"] == ["newsletter"]


def test_the_honeypot_and_the_per_address_limit_send_nothing_more(stack: Stack, browser: Any) -> None:
    browser.get(stack.env["SODATE_DEMO_URL"] + "newsletter")
    form = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#signup form"))[0]
    browser.execute_script("arguments[0].querySelector('[name=sodate_hp]').value = 'http://spam'", form)
    fill(browser, form, "robot@example.com")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: form.find_element(By.CSS_SELECTOR, "[role=status]").text)
    assert stack.api("/admin/contacts?email=robot@example.com")[0] == 404, "a robot leaves no trace"

    address = "flooded@example.com"
    for _ in range(4):
        browser.get(stack.env["SODATE_DEMO_URL"] + "newsletter")
        form = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#signup form"))[0]
        fill(browser, form, address)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_for(lambda: form.find_element(By.CSS_SELECTOR, "[role=status]").text)  # noqa: B023
    mails_to(stack, address, at_least=3)
    time.sleep(1.5)  # a fourth would be filed by now
    assert len(mails_to(stack, address)) == 3, "one mailbox gets at most three confirmations an hour"


def preference_page(stack: Stack, contact_id: str) -> str:
    """The link every mail's footer carries, signed here with the stack's own link key."""
    secrets = boto3.session.Session(
        aws_access_key_id=stack.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=stack.env["AWS_SECRET_ACCESS_KEY"],
        region_name=stack.env["AWS_DEFAULT_REGION"],
    ).client("secretsmanager", endpoint_url=stack.env["AWS_ENDPOINT_URL"])
    name = next(
        s["ARN"] for s in secrets.list_secrets()["SecretList"] if s["Name"].endswith("link-signing-key")
    )
    key = secrets.get_secret_value(SecretId=name)["SecretString"]
    token = sign({"pref": f"{contact_id}#welcome#tips#1"}, key, int(time.time()) + 3600)
    return f"{stack.env['SODATE_API']}/p/{token}"


def test_the_preference_page_turns_a_topic_off_and_pauses(stack: Stack, browser: Any) -> None:
    stack.drop("prefs.csv", b"email,name,consent\nprefs@example.com,Mio,yes\n")
    assert stack.report("prefs.csv")["created"] == 1
    person = contact(stack, "prefs@example.com")
    browser.get(preference_page(stack, person["contact_id"]))
    offers = browser.find_element(By.CSS_SELECTOR, "input[name=topics][value=offers]")
    assert offers.is_selected(), "an import's consent is every topic"
    offers.click()
    Select(browser.find_element(By.ID, "pause")).select_by_value("7")
    browser.find_element(By.ID, "save").click()
    assert wait_for(lambda: "保存しました" in browser.page_source), "the page that says so"
    browser.save_screenshot(f"{SHOTS}/sodate-preferences.png")
    person = contact(stack, "prefs@example.com")
    assert person["status"] == "subscribed" and person["topics_off"] == ["offers"]
    assert person["paused_until"] > person["updated_at"]
    _, ledger = stack.api(f"/admin/contacts/{person['contact_id']}/consent")
    assert [(e["change"], e["source"]) for e in ledger["entries"]] == [
        ("granted", "import"),
        ("topics", "preferences"),
        ("paused", "preferences"),
    ]
