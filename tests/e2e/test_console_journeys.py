"""The journey map in a real browser on the local stack: a first-time buyer enters the example
scenario, the map shows them waiting at its first step; a tick mails them and the open page's
counts move on by themselves (no reload)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from selenium.webdriver.common.by import By

from tests.e2e.conftest import Stack, open_listed, text_of, wait_for
from tests.e2e.test_console_overview import serious_accessibility_problems, shot, sign_in
from tests.e2e.test_scenario_journey import post

WHO = "mapper@example.com"
READ = "return [...document.querySelectorAll(arguments[0])].map(r => [...r.children].map(c => c.textContent))"


def step_counts(browser: Any) -> dict[str, dict[str, int]]:
    """The steps table under the map: step -> {waiting, sent}."""
    rows = browser.execute_script(READ, "#steps tbody tr")  # in one go: the page redraws as counts move
    return {
        cells[0]: {"waiting": int(cells[2].replace(",", "")), "sent": int(cells[3].replace(",", ""))}
        for cells in rows
    }


def waiting_at(stack: Stack, step: str) -> int:
    status, report = stack.api("/admin/scenarios/first_purchase/report")
    assert status == 200
    return int(next(s.get("waiting", 0) for s in report["steps"] if s["step"] == step))


def test_a_tick_moves_the_counts_on_the_open_journey_map(
    stack: Stack, browser: Any, moved_clock: Any
) -> None:
    # GIVEN a first-time buyer who has entered the example scenario (their one purchase long ago:
    # the other tests' RFM cells, worked out over everyone's purchases, stay as they were)
    day = (datetime.now(UTC).date() - timedelta(days=800)).isoformat()
    header = "email,name,consent,購入回数,累計購入金額,初回購入日,最終購入日\n"
    sign_in(stack, browser)
    for attempt in range(3):  # the stack's own 1-minute tick may mail them before the map is seen
        who = WHO if not attempt else WHO.replace("@", f"+{attempt}@")
        name = f"mapper{attempt}.csv"
        stack.drop(name, f"{header}{who},Mapper,yes,1,500,{day},{day}\n".encode())
        assert stack.report(name)["created"] == 1
        assert wait_for(lambda: waiting_at(stack, "thanks") >= 1, timeout=90)

        # WHEN the marketer opens its journey map
        browser.get(f"{stack.env['SODATE_API']}/console/scenarios?lang=en")
        open_listed(browser, "journeys", "first_purchase", "journey")
        before = step_counts(browser)
        if before and before["thanks"]["waiting"] >= 1:
            break

    # THEN each step is drawn, joined as the scenario says, with who waits where
    boxes = {g.get_attribute("data-step") for g in browser.find_elements(By.CSS_SELECTOR, "#map g.step")}
    assert {"thanks", "three_days", "tips", "engaged", "offer_test", "coupon", "holdout", "done"} <= boxes
    ways = {w.text for w in browser.find_elements(By.CSS_SELECTOR, "#map text.way")}
    assert {"yes", "no", "coupon 90%", "holdout 10%"} <= ways
    assert "Waiting now" in text_of(browser, "#map g[data-step=thanks]")
    assert before["thanks"]["waiting"] >= 1
    shot(browser, "console-journey-before")
    assert serious_accessibility_problems(browser) == []

    # WHEN a tick walks everyone due (the mail goes out)
    post(stack, "/admin/jobs/tick", {})

    # THEN the open page shows them moved on: mailed, and waiting three days
    def moved() -> bool:
        now = step_counts(browser)
        return bool(now) and (
            now["three_days"]["waiting"] > before["three_days"]["waiting"]
            and now["thanks"]["sent"] > before["thanks"]["sent"]
            and now["thanks"]["waiting"] < before["thanks"]["waiting"]
        )

    assert wait_for(moved, timeout=30), (before, step_counts(browser))
    waiting = text_of(browser, "#map g[data-step=three_days] text.waiting")
    assert waiting == f"Waiting now {step_counts(browser)['three_days']['waiting']:,}"
    shot(browser, "console-journey-after")
