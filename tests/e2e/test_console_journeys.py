"""The journey map in a real browser on the local stack: a first-time buyer enters the example
scenario, the map shows them waiting at its first step; a tick mails them and the open page's
counts move on by themselves (no reload).  A step that sent on LINE and SMS shows each channel's
figures, and a text's delivery event moves its count live."""

from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import boto3
from selenium.webdriver.common.by import By

from chalicelib.store.journeys import JourneyStore
from tests.e2e.conftest import Stack, open_listed, ready, text_of, wait_for
from tests.e2e.test_console_overview import serious_accessibility_problems, shot, sign_in
from tests.e2e.test_scenario_journey import post
from tests.unit.test_sms_receipts import sms_event

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


# A step that sends on the first channel a person is on; entered by an event nothing sends.
ON_ANY_CHANNEL = """
  - name: channels_e2e
    description: The journey map's per-channel figures.
    entry: {event: channels_e2e_never}
    steps:
      - id: hello
        send: thank_you
        channels: [line, sms, email]
        line: {text: "新茶が入りました https://shop.example.jp/new"}
        sms: "新茶が入りました"
      - {id: bye, exit: true}
"""
# The step's figures as the runner and the click counter write them: 7 LINE pushes (2 clicked,
# 1 refused by LINE), 5 texts (1 clicked), 3 mails (2 delivered).
SEEDED = {"sent": 15, "line_sent": 7, "sms_sent": 5, "clicked": 3, "line_clicked": 2, "sms_clicked": 1}
SEEDED |= {"failed": 1, "line_failed": 1, "delivered": 2}
CHANNEL_ROWS = "return [...document.querySelectorAll('#channels tbody tr')].map(r => [r.dataset.step, r.dataset.channel, ...[...r.children].map(c => c.textContent)])"


def put_definition(stack: Stack, kind: str, text: str) -> None:
    request = urllib.request.Request(
        f"{stack.env['SODATE_API']}/admin/definitions/{kind}",
        text.encode(),
        {"Authorization": f"Bearer {stack.env['SODATE_ADMIN_TOKEN']}", "Content-Type": "text/yaml"},
        method="PUT",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200


def channel_rows(browser: Any) -> dict[tuple[str, str], list[str]]:
    """The per-channel table under the map: (step, channel) -> sent, delivered, failed, clicked, rate."""
    return {(r[0], r[1]): r[4:] for r in browser.execute_script(CHANNEL_ROWS)}


def test_a_step_that_sent_on_line_and_sms_shows_each_channels_figures_and_a_text_delivered_live(
    stack: Stack, browser: Any
) -> None:
    # GIVEN a scenario step that sent on LINE, SMS and email (the sends' counters seeded as the
    # runner writes them: a LINE push needs a proven account link, beyond this test), and one
    # text in the send ledger as the messenger leaves it, with the id SNS answered
    _, in_force = stack.api("/admin/definitions/scenarios")
    put_definition(stack, "scenarios", in_force["text"] + ON_ANY_CHANNEL)
    session = boto3.session.Session(
        aws_access_key_id=stack.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=stack.env["AWS_SECRET_ACCESS_KEY"],
        region_name=stack.env["AWS_DEFAULT_REGION"],
    )
    client = partial(session.client, endpoint_url=stack.env["AWS_ENDPOINT_URL"])
    journeys = JourneyStore(client("dynamodb"), stack.env["SODATE_JOURNEYS_TABLE"])
    now = datetime.now(UTC)
    journeys.count({("channels_e2e", now.date().isoformat(), "hello", f): n for f, n in SEEDED.items()})
    text_id, key = f"sns-{uuid.uuid4()}", "c-texted#channels_e2e#hello#1"
    at = now.isoformat(timespec="seconds")
    claimed = {
        "kind": "send",
        "status": "claimed",
        "scenario": "channels_e2e",
        "step": "hello",
        "channel": "sms",
    }
    assert journeys.claim("c-texted", key, claimed | {"at": at})
    journeys.note("c-texted", key, {"status": "sent", "sent_at": at, "message_id": text_id})
    try:
        # WHEN the marketer opens its journey map
        sign_in(stack, browser)
        browser.get(f"{stack.env['SODATE_API']}/console/scenarios?lang=en")
        open_listed(browser, "journeys", "channels_e2e", "journey")

        # THEN the step's box and the table show each channel's figures; LINE's delivery unknown
        rows = channel_rows(browser)
        assert rows[("hello", "line")] == ["7", "–", "1", "2", "28.6%"]
        assert rows[("hello", "sms")] == ["5", "0", "0", "1", "20.0%"]
        assert rows[("hello", "email")] == ["3", "2", "0", "0", "0.0%"]
        assert ("bye", "email") not in rows, "an exit sends nothing"
        box = text_of(browser, "#map g[data-step=hello] g[data-channel=line]")
        assert box.startswith("LINE") and "–" in box and "2 (28.6%)" in box
        assert "no delivery receipt" in text_of(browser, "#no-line-receipt")
        assert serious_accessibility_problems(browser) == []

        # WHEN End User Messaging SMS says the text was delivered (its event, as published to the
        # <Prefix>-sms-events topic, which feeds the feedback queue the local stack pumps)
        sns = client("sns")
        topic = next(
            t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith("-sms-events")
        )
        sns.publish(TopicArn=topic, Message=json.dumps(sms_event(text_id)))

        # THEN the open map counts it delivered, by itself
        assert wait_for(lambda: channel_rows(browser).get(("hello", "sms"), [""])[1] == "1", timeout=30)
        shot(browser, "console-journey-channels-en")
        browser.get(f"{stack.env['SODATE_API']}/console/scenarios?name=channels_e2e&lang=ja")
        assert wait_for(lambda: ready(browser, "journey"))
        assert "到達" in text_of(browser, "#map g[data-step=hello] g.head")
        assert "LINE はプッシュの到達を通知しません" in text_of(browser, "#no-line-receipt")
        shot(browser, "console-journey-channels-ja")
    finally:
        put_definition(stack, "scenarios", in_force["text"])
