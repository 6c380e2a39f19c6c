"""A person's page in the console, in a real browser on the local stack: found by email after an
import, their profile, consent history, scores and timeline (filtered), and erasure only after
the address is typed again."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.e2e.conftest import Stack, ready, text_of, wait_for
from tests.e2e.test_console_overview import serious_accessibility_problems, shot, sign_in

CSV = "メールアドレス,氏名,会社名,メルマガ\r\nsachiko@example.jp,高橋 幸子,高橋商会,はい\r\n".encode("cp932")


def test_a_marketer_finds_a_person_reads_their_page_and_an_admin_erases_them(
    stack: Stack, browser: Any
) -> None:
    # GIVEN a person imported from a Japanese CSV (CP932), evaluated by the streams
    stack.drop("console-people.csv", CSV)
    assert stack.report("console-people.csv")["created"] == 1
    found = wait_for(
        lambda: (lambda s: s[1] if s[0] == 200 and s[1].get("grade") else None)(
            stack.api("/admin/contacts?email=sachiko@example.jp")
        )
    )
    sign_in(stack, browser)

    # WHEN they are looked up by address
    browser.get(f"{stack.env['SODATE_API']}/console/contacts?lang=en")
    assert wait_for(lambda: ready(browser, "contacts"))
    browser.find_element(By.ID, "find-email").send_keys("Sachiko@Example.jp")
    browser.find_element(By.CSS_SELECTOR, "#find button").click()
    assert wait_for(lambda: "id=" in browser.current_url and ready(browser, "contacts"))

    # THEN their page shows who they are, their consent and where it came from, and their history
    assert browser.find_element(By.ID, "person").text == "高橋 幸子 <sachiko@example.jp>"
    profile = browser.find_element(By.ID, "profile").text
    assert "高橋商会" in profile and found["grade"] in profile
    consent = browser.find_element(By.ID, "consent-history").text
    assert "Consent history: Subscribed" in consent and "import" in consent
    assert wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#timeline tbody tr"))
    kinds = {
        row.get_attribute("data-kind") for row in browser.find_elements(By.CSS_SELECTOR, "#timeline tbody tr")
    }
    assert "segment_enter" in kinds, kinds
    Select(browser.find_element(By.ID, "kind")).select_by_value("segment_enter")
    shown = {
        row.get_attribute("data-kind") for row in browser.find_elements(By.CSS_SELECTOR, "#timeline tbody tr")
    }
    assert shown == {"segment_enter"}
    export = browser.find_element(By.ID, "export").get_attribute("href")
    assert export.endswith(f"/admin/contacts/{found['contact_id']}/export")
    assert serious_accessibility_problems(browser) == []
    shot(browser, "console-person-en")

    # AND erasure asks for the address again, then forgets them
    browser.find_element(By.ID, "erase-confirm").send_keys("someone-else@example.jp")
    browser.find_element(By.ID, "erase").click()
    assert wait_for(lambda: "not this contact's address" in browser.find_element(By.ID, "status").text)
    assert stack.api(f"/admin/contacts/{found['contact_id']}")[0] == 200
    browser.find_element(By.ID, "erase-confirm").clear()
    browser.find_element(By.ID, "erase-confirm").send_keys("sachiko@example.jp")
    browser.find_element(By.ID, "erase").click()
    assert wait_for(lambda: ready(browser, "erased"))
    assert "Erased: sachiko@example.jp" in browser.find_element(By.ID, "status").text
    assert stack.api(f"/admin/contacts/{found['contact_id']}")[0] == 404

    # AND looking for them again finds nobody
    browser.find_element(By.ID, "find-email").send_keys("sachiko@example.jp")
    browser.find_element(By.CSS_SELECTOR, "#find button").click()
    assert wait_for(
        lambda: "No contact has that address." in text_of(browser, "#status")
    )  # read across the reload


def test_people_are_found_by_name_and_a_grid_cell_of_the_overview_opens_its_people(
    stack: Stack, browser: Any
) -> None:
    # GIVEN two people imported and evaluated, one written in half-width katakana
    rows = "メールアドレス,氏名\r\nmisaki-w@example.jp,渡辺 美咲\r\nmisaki-k@example.jp,ﾜﾀﾅﾍﾞ ﾐｻｷ\r\n"
    stack.drop("console-names.csv", rows.encode("cp932"))
    assert stack.report("console-names.csv")["created"] == 2
    misaki = wait_for(
        lambda: (lambda s: s[1] if s[0] == 200 and s[1].get("grade") else None)(
            stack.api("/admin/contacts?email=misaki-w@example.jp")
        )
    )
    sign_in(stack, browser, "ja")

    # WHEN someone types the given name
    browser.get(f"{stack.env['SODATE_API']}/console/contacts?lang=ja")
    assert wait_for(lambda: ready(browser, "contacts"))
    browser.find_element(By.ID, "find-email").send_keys("美咲")
    browser.find_element(By.CSS_SELECTOR, "#find button").click()
    # THEN the list shows her, and a kana search finds the katakana one, whatever the width
    assert wait_for(lambda: "misaki-w@example.jp" in text_of(browser, "#named"))
    assert "misaki-k@example.jp" not in text_of(browser, "#named")
    browser.get(f"{stack.env['SODATE_API']}/console/contacts?q=わたなべ&lang=ja")
    assert wait_for(lambda: "misaki-k@example.jp" in text_of(browser, "#named"))
    assert serious_accessibility_problems(browser) == []
    shot(browser, "console-named-ja")

    # AND her grade's cell on the overview opens a list with her in it, and her name her page
    browser.get(f"{stack.env['SODATE_API']}/console?lang=ja")
    assert wait_for(lambda: ready(browser, "overview"))
    browser.find_element(By.CSS_SELECTOR, f"#grades td[data-cell='{misaki['grade']}'] a").click()
    assert wait_for(lambda: ready(browser, "contacts") and "cell=grade" in browser.current_url)
    while "misaki-w@example.jp" not in text_of(browser, "#in-cell"):
        shown = len(browser.find_elements(By.CSS_SELECTOR, "#in-cell tbody tr"))
        more = browser.find_element(By.ID, "more-people")
        assert more.is_displayed(), "she is in her grade's cell"
        more.click()
        assert wait_for(
            lambda shown=shown: len(browser.find_elements(By.CSS_SELECTOR, "#in-cell tbody tr")) > shown
        )
    shot(browser, "console-cell-ja")
    browser.find_element(By.LINK_TEXT, "渡辺 美咲").click()
    assert wait_for(lambda: ready(browser, "contacts") and "id=" in browser.current_url)
    assert wait_for(lambda: text_of(browser, "#person") == "渡辺 美咲 <misaki-w@example.jp>")
