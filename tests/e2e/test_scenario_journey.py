"""The whole journey on the local stack, with its clock moved forward: import -> segment ->
scenario -> mails read from the emulator's SES -> a click over real HTTP -> branch -> goal."""

from __future__ import annotations

import email
import json
import re
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from email.header import decode_header, make_header
from typing import Any

import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_segments import eventually

PERSON = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15"


def post(stack: Stack, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        stack.env["SODATE_API"] + path,
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {stack.env['SODATE_ADMIN_TOKEN']}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def mails_to(stack: Stack, address: str, at_least: int = 0) -> list[email.message.Message]:
    """What SES took for one address, oldest first, as the local mailbox filed it (raw MIME);
    waits a while for `at_least` of them (the mailbox files what SES took twice a second)."""
    deadline = time.monotonic() + 15
    mails = _filed(stack, address)
    while len(mails) < at_least and time.monotonic() < deadline:
        time.sleep(0.2)
        mails = _filed(stack, address)
    return mails


def _filed(stack: Stack, address: str) -> list[email.message.Message]:
    mailbox = stack.env["SODATE_MAILBOX_URL"]
    with urllib.request.urlopen(mailbox + "messages.json", timeout=30) as answer:
        listed = json.loads(answer.read())["messages"]
    mails = []
    for mail in sorted(listed, key=lambda m: int(m["number"])):
        if address in mail["to"]:
            with urllib.request.urlopen(f"{mailbox}m/{mail['number']}/raw", timeout=30) as raw:
                mails.append(email.message_from_bytes(raw.read()))
    return mails


def subject(message: email.message.Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def html_of(message: email.message.Message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/html")
    return str(part.get_payload(decode=True).decode("utf-8"))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None


def test_a_first_time_buyer_walks_the_example_scenario_to_its_goal(stack: Stack, moved_clock: Any) -> None:
    who = "journey@example.com"
    # The shop's pages, where the example mails link, are a site of ours: a click there identifies.
    post(stack, "/admin/sites", {"name": "Shop", "domains": ["shop.example.jp"]})
    day = datetime.now(UTC).date().isoformat()
    header = "email,name,consent,購入回数,累計購入金額,初回購入日,最終購入日,最終購入商品\n"
    stack.drop("journey.csv", f"{header}{who},Yui,yes,1,1200,{day},{day},TEA-100\n".encode())
    assert stack.report("journey.csv")["created"] == 1

    def thanked() -> None:
        post(stack, "/admin/jobs/tick", {})
        status, contact = stack.api(f"/admin/contacts?email={who}")
        assert status == 200
        _, timeline = stack.api(f"/admin/contacts/{contact['contact_id']}/timeline?limit=100")
        assert "mail_sent" in {entry["kind"] for entry in timeline["hits"]}

    eventually(thanked, timeout=120)  # the contact stream evaluates, the events stream enters her
    (thanks,) = mails_to(stack, who, at_least=1)
    assert subject(thanks) == "Yui様、ご購入ありがとうございます"
    assert thanks["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert thanks["List-Unsubscribe"].startswith(f"<{stack.env['SODATE_API']}/u/")

    moved_clock(3)
    post(stack, "/admin/jobs/tick", {})
    tips = mails_to(stack, who, at_least=2)[1]
    assert subject(tips).startswith("三日目のお茶のコツ")
    link = re.search(r'href="([^"]+/c/[^"]+)"', html_of(tips)).group(1)
    moved_clock(0.01)  # she reads it a quarter of an hour later
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(urllib.request.Request(link, headers={"User-Agent": PERSON}), timeout=10)
    assert redirect.value.code == 302
    assert redirect.value.headers["Location"].startswith("https://shop.example.jp/products/tea-500?sodate_t=")

    moved_clock(7)
    post(stack, "/admin/jobs/tick", {})
    assert subject(mails_to(stack, who, at_least=3)[2]).endswith(
        "玉露のご案内"
    )  # she clicked: the upgrade branch

    stack.drop("journey-2.csv", f"email,購入回数,最終購入日\n{who},2,{day}\n".encode())
    stack.report("journey-2.csv")

    def converted() -> None:
        post(stack, "/admin/jobs/tick", {})
        status, report = stack.api("/admin/scenarios/first_purchase/report")
        assert status == 200 and report["totals"].get("goal", 0) >= 1, report["totals"]
        assert report["totals"].get("delivered", 0) >= 3, "SES's delivery events, published locally"

    eventually(converted, timeout=120)
    status, contact = stack.api(f"/admin/contacts?email={who}")
    assert status == 200, contact
    _, timeline = stack.api(f"/admin/contacts/{contact['contact_id']}/timeline?limit=100")
    kinds = {entry["kind"] for entry in timeline["hits"]}
    assert {"scenario_enter", "mail_sent", "mail_delivered", "email_click", "scenario_goal"} <= kinds
