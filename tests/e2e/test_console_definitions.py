"""The definitions editor in a real browser on the local stack: a broken segment rule is shown at
its line, fixed, applied; an earlier version is compared and put back in force."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By

from tests.e2e.conftest import Stack, ready, wait_for
from tests.e2e.test_console_overview import serious_accessibility_problems, shot, sign_in


def editor_text(browser: Any) -> str:
    return str(browser.execute_script("return document.getElementById('editor').editor.state.doc.toString()"))


def replace_in_editor(browser: Any, old: str, new: str) -> None:
    """Select `old` in the editor and type `new` over it, as a person would."""
    browser.execute_script(
        "const view = document.getElementById('editor').editor;"
        "const at = view.state.doc.toString().indexOf(arguments[0]);"
        "view.focus(); view.dispatch({selection: {anchor: at, head: at + arguments[0].length}});",
        old,
    )
    browser.find_element(By.CSS_SELECTOR, ".cm-content").send_keys(new)


def test_a_marketer_breaks_a_rule_sees_it_at_its_line_fixes_it_applies_and_rolls_back(
    stack: Stack, browser: Any
) -> None:
    sign_in(stack, browser)
    browser.get(f"{stack.env['SODATE_API']}/console/definitions?kind=segments&lang=en")
    assert wait_for(lambda: ready(browser, "definitions"))
    original = editor_text(browser)
    assert "rule: {field: status, eq: subscribed}" in original
    in_force = int(browser.find_element(By.CSS_SELECTOR, "#versions tbody tr").get_attribute("data-version"))

    # WHEN a rule names a field that does not exist, and the marketer checks
    replace_in_editor(browser, "field: status", "field: mood")
    browser.find_element(By.ID, "check").click()
    assert wait_for(lambda: ready(browser, "problems"))

    # THEN the problem is listed with its line, and marked on that line in the editor
    line = next(n for n, text in enumerate(editor_text(browser).splitlines(), 1) if "field: mood" in text)
    problem = browser.find_element(By.CSS_SELECTOR, "#problems li")
    assert problem.get_attribute("data-line") == str(line) and "mood" in problem.text
    assert browser.find_elements(By.CSS_SELECTOR, ".cm-lint-marker-error")
    shot(browser, "console-definitions-problem-en")

    # AND fixed, checked and applied, it is the newest version
    replace_in_editor(browser, "field: mood", "field: status")
    browser.find_element(By.ID, "check").click()
    assert wait_for(lambda: ready(browser, "valid"))
    replace_in_editor(browser, "Never bought", "Has never bought")
    browser.find_element(By.ID, "apply").click()
    assert wait_for(lambda: ready(browser, f"applied-{in_force + 1}"))
    assert stack.api("/admin/definitions/segments")[1]["text"] == editor_text(browser)

    # AND the earlier version, compared and rolled back to, is in force again
    browser.find_element(By.CSS_SELECTOR, f"button[data-version='{in_force}']").click()
    assert wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#diff .added"))
    assert "Has never bought" in browser.find_element(By.CSS_SELECTOR, "#diff .added").text
    assert "Never bought" in browser.find_element(By.CSS_SELECTOR, "#diff .removed").text
    assert serious_accessibility_problems(browser) == []
    shot(browser, "console-definitions-diff-en")
    browser.find_element(By.CSS_SELECTOR, f"button[data-rollback='{in_force}']").click()
    assert wait_for(lambda: ready(browser, f"applied-{in_force + 2}"))
    assert editor_text(browser) == original
    assert stack.api("/admin/definitions/segments")[1]["text"] == original
