"""The import wizard in a real browser on the local stack: a Japanese CP932 CSV uploaded straight
to the emulator's bucket, read back with its encoding and first rows, one mapping changed, the
import watched to its end, the report with the rejected row and its file; and each role sees
only what it may do."""

from __future__ import annotations

import contextlib
import secrets
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.e2e.conftest import Stack, ready, wait_for
from tests.e2e.test_console_overview import serious_accessibility_problems, shot, sign_in

ROWS = 3000
HEADER = "メールアドレス,氏名,会員ランク,メモ\r\n"


def members_csv() -> bytes:
    rows = [f"kaiin{i:05d}@example.jp,会員 {i}号,ゴールド,髙橋さん紹介 ①\r\n" for i in range(ROWS)]
    return (HEADER + "".join(rows) + "not-an-address,誰か,ブロンズ,\r\n").encode("cp932")


def texts(browser: Any, *ids: str) -> str:
    """What the elements of these ids say (those that are on the page)."""
    return " | ".join(e.text for i in ids for e in browser.find_elements(By.ID, i))


def person(stack: Stack, role: str) -> tuple[str, str]:
    """A console user of `role` in the emulator's user pool (its address, its password)."""
    env = stack.env
    cognito = stack.cognito
    email, password = (
        f"{role}@example.com",
        "Pw-7" + secrets.token_urlsafe(12),
    )  # the pool's policy: upper, lower, digit, symbol
    pool = env["SODATE_USER_POOL_ID"]
    with contextlib.suppress(cognito.exceptions.UsernameExistsException):
        attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
        cognito.admin_create_user(
            UserPoolId=pool, Username=email, UserAttributes=attributes, MessageAction="SUPPRESS"
        )
    cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password=password, Permanent=True)
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName=role)
    return email, password


def test_a_cp932_csv_goes_through_the_wizard_with_one_mapping_changed(
    stack: Stack, browser: Any, tmp_path: Path
) -> None:
    # GIVEN a marketer's Japanese Excel export (CP932) on their disk
    path = tmp_path / "会員リスト.csv"
    path.write_bytes(members_csv())
    sign_in(stack, browser, "ja")
    browser.get(f"{stack.env['SODATE_API']}/console/imports?lang=ja")
    assert wait_for(lambda: ready(browser, "imports"))

    # WHEN they upload it
    browser.find_element(By.ID, "file").send_keys(str(path))
    browser.find_element(By.CSS_SELECTOR, "#upload button[type=submit]").click()

    # THEN the wizard shows how it reads, before anything is imported
    assert wait_for(
        lambda: browser.find_elements(By.ID, "mapping") or texts(browser, "upload-problem"), timeout=30
    )
    assert browser.find_elements(By.ID, "mapping"), texts(browser, "upload-problem")
    facts = browser.find_element(By.ID, "facts").text
    assert "cp932" in facts and "カンマ" in facts and "会員リスト.csv" in facts
    first = browser.find_element(By.CSS_SELECTOR, "#first-rows tbody tr").text
    assert "kaiin00000@example.jp" in first and "髙橋さん紹介 ①" in first
    choices = {
        s.get_attribute("data-header"): Select(s).first_selected_option.get_attribute("value")
        for s in browser.find_elements(By.CSS_SELECTOR, "#mapping select")
    }
    assert choices == {
        "メールアドレス": "email",
        "氏名": "name",
        "会員ランク": "attr:会員ランク",
        "メモ": "attr:メモ",
    }
    shot(browser, "console-imports-preview")
    assert serious_accessibility_problems(browser) == []

    # WHEN they change one mapping, skip a column, and start
    Select(browser.find_element(By.CSS_SELECTOR, "select[data-header=会員ランク]")).select_by_value(
        "customer_status"
    )
    Select(browser.find_element(By.CSS_SELECTOR, "select[data-header=メモ]")).select_by_value("")
    browser.execute_script(
        "window.seen = []; new MutationObserver(() => window.seen.push(document.getElementById('import-status')"
        "?.textContent || '')).observe(document.getElementById('stage'), {subtree: true, childList: true,"
        " characterData: true});"
    )
    browser.find_element(By.ID, "start").click()

    # THEN they watch it run to its end, and read the report
    assert wait_for(lambda: "完了" in texts(browser, "import-status", "start-problem"), timeout=90), texts(
        browser, "import-status", "start-problem"
    )
    seen = [s for s in browser.execute_script("return window.seen") if s]
    assert any(s.startswith(("待機中", "実行中")) for s in seen), seen
    assert browser.find_element(By.ID, "progress").get_attribute("value") == "1"
    counts = dict(
        (row.find_element(By.TAG_NAME, "th").text, row.find_element(By.TAG_NAME, "td").text)
        for row in browser.find_elements(By.CSS_SELECTOR, "#counts tbody tr")
    )
    assert (counts["新規"], counts["エラー"]) == (f"{ROWS:,}", "1"), counts
    assert "invalid_email" in browser.find_element(By.ID, "reasons").text
    errors_link = browser.find_element(By.ID, "errors-file").get_attribute("href")
    assert "会員リスト.csv" in browser.find_element(By.ID, "history").text
    shot(browser, "console-imports-report")
    assert serious_accessibility_problems(browser) == []

    # AND the rejected row downloads, the mapping was kept and the people carry the chosen field
    cookie = browser.get_cookie("sodate_session")["value"]
    request = urllib.request.Request(errors_link, headers={"Cookie": f"sodate_session={cookie}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert "not-an-address" in answer.read().decode("utf-8-sig")
    status, found = stack.api("/admin/contacts?email=kaiin00007@example.jp")
    assert status == 200 and found["customer_status"] == "ゴールド" and "メモ" not in found.get("attrs", {})
    saved = stack.s3.get_object(Bucket=stack.bucket, Key="mappings/会員リスト.json")["Body"].read().decode()
    assert '"会員ランク": "customer_status"' in saved and '"メモ": null' in saved


@pytest.mark.parametrize(
    ("role", "may_upload", "may_apply", "may_erase"),
    [("analyst", False, False, False), ("marketer", True, True, False)],
)
def test_each_role_sees_only_what_it_may_do(
    stack: Stack, browser: Any, role: str, may_upload: bool, may_apply: bool, may_erase: bool
) -> None:
    email, password = person(stack, role)
    api = stack.env["SODATE_API"]
    browser.delete_all_cookies()
    browser.get(f"{stack.env['SODATE_CONSOLE_URL']}?lang=en")
    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "sign-in").click()
    assert wait_for(lambda: browser.find_elements(By.ID, "sign-out"))
    assert browser.find_element(By.ID, "role").get_attribute("data-role") == role

    browser.get(f"{api}/console/imports?lang=en")
    assert wait_for(lambda: ready(browser, "imports"))
    assert bool(browser.find_elements(By.ID, "new-import")) is may_upload
    assert browser.find_elements(By.ID, "history") or browser.find_elements(By.ID, "history-table")
    shot(browser, f"console-imports-{role}")

    browser.get(f"{api}/console/definitions?kind=segments&lang=en")
    assert wait_for(lambda: browser.find_elements(By.ID, "check"))
    assert bool(browser.find_elements(By.ID, "apply")) is may_apply

    status, people = stack.api("/admin/contacts?limit=1")
    assert status == 200 and people["contacts"]
    browser.get(f"{api}/console/contacts?lang=en&id={people['contacts'][0]['contact_id']}")
    assert wait_for(lambda: browser.find_elements(By.ID, "profile"))
    assert bool(browser.find_elements(By.ID, "erase")) is may_erase
    browser.find_element(By.ID, "sign-out").click()
