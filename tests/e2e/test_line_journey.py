"""Issue 17's flow on the local stack `make run` starts, over real HTTP: a contact imported with
an address follows the bot on LINE (the stand-in's control surface sends LINE's signed webhooks),
is offered the account link, says who they are on our page, confirms the link mailed to them,
and LINE's dialog fires accountLink.  A scenario then pushes to them on LINE, their click on the
pushed link takes its `clicked` branch, and once they block the bot its sends fall back to mail.

The person enters the scenario by an event of the site's tag, the identity from a mail's link
token (how a real person would), and time is the moved clock's, as in the mail journey."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_scenario_journey import NoRedirect, mails_to, post, subject
from tests.e2e.test_segments import eventually

PERSON = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Line/14.9.0"
)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config" / "scenarios.yaml"
START = "line_journey_start"
SCENARIO = f"""
  - name: line_journey
    description: Welcome people who linked LINE there; a click shows interest.
    entry: {{event: {START}}}
    steps:
      - {{id: hello, send_line: {{text: "{{{{ name | default('お客様') }}}}様、LINE連携ありがとうございます。新茶 https://shop.example.jp/new"}}}}
      - {{id: a_day, wait: {{days: 1}}}}
      - id: engaged
        branch: {{if: {{clicked: hello}}, then: offer, else: remind}}
      - id: offer
        send: upgrade_offer
        channels: [line, email]
        line: {{text: "玉露のご案内 https://shop.example.jp/gyokuro"}}
        next: bye
      - id: remind
        send: tips
        channels: [line, email]
        line: {{text: "お茶のコツ https://shop.example.jp/tips"}}
      - {{id: bye, exit: true}}
"""


def put_scenarios(stack: Stack, text: str) -> tuple[int, Any]:
    """scenarios.yaml through the API, as the console's editor sends it."""
    request = urllib.request.Request(
        stack.env["SODATE_API"] + "/admin/definitions/scenarios",
        data=text.encode(),
        headers={
            "Authorization": f"Bearer {stack.env['SODATE_ADMIN_TOKEN']}",
            "Content-Type": "application/yaml",
        },
        method="PUT",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.fixture(scope="module")
def line_scenario(stack: Stack) -> Iterator[str]:
    """The shipped scenarios and this one beside them; the shipped ones alone again after."""
    examples = EXAMPLES.read_text()
    status, answer = put_scenarios(stack, examples + SCENARIO)
    assert status == 200 and answer["status"] == "applied", answer
    yield "line_journey"
    put_scenarios(stack, examples)


# --- the LINE user and their phone's browser -----------------------------------------------------
def control(stack: Stack, action: str, **fields: Any) -> dict[str, Any]:
    """The stand-in plays the LINE user: follow, unfollow, ... (each a signed webhook to us)."""
    request = urllib.request.Request(
        f"{stack.env['SODATE_LINE_API']}/_standin/{action}",
        json.dumps(fields).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        found: dict[str, Any] = json.loads(answer.read())
    assert found["webhook"]["deliveries"][-1]["status"] == 200, found
    return found


def pushed_to(stack: Stack, user_id: str) -> list[str]:
    """The texts pushed to this user, received or not (one who blocked the account gets nothing
    LINE takes for them), oldest first: the stand-in lists them newest first."""
    with urllib.request.urlopen(f"{stack.env['SODATE_LINE_API']}/_standin/messages", timeout=10) as answer:
        sent = json.loads(answer.read())["messages"]
    return [
        message["text"]
        for record in reversed(sent)
        if any(r["userId"] == user_id for r in record["recipients"])
        for message in record["messages"]
    ]


def browse(url: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
    """A GET, or a form's POST, without following a redirect: status, body, Location."""
    data = urlencode(form).encode() if form is not None else None
    headers = {"User-Agent": PERSON, "Content-Type": "application/x-www-form-urlencoded"}
    request = urllib.request.Request(url, data, headers if form is not None else {"User-Agent": PERSON})
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=30) as answer:
            return answer.status, answer.read().decode(), ""
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers.get("Location", "")


def link_line(stack: Stack, email: str) -> str:
    """A follow, then the account link as the person does it; their LINE user id."""
    user_id = str(control(stack, "follow", displayName="結衣")["userId"])
    (offer,) = pushed_to(stack, user_id)  # the bot answers a follow with the link's offer
    page = re.search(r"http://\S+/line/link\?linkToken=[0-9A-Za-z_-]+", offer)
    assert page, offer
    status, body, _ = browse(page.group(0))
    assert status == 200 and 'name="email"' in body
    link_token = re.search(r'name="linkToken" value="([^"]+)"', body).group(1)  # type: ignore[union-attr]
    status, body, _ = browse(page.group(0).split("?")[0], {"linkToken": link_token, "email": email})
    assert status == 200, body
    mailed = [m for m in mails_to(stack, email, at_least=1) if m["X-Sodate-Mail"] == "line-link"]
    assert len(mailed) == 1, "the link is mailed to the address we know"
    text = next(p for p in mailed[0].walk() if p.get_content_type() == "text/plain").get_payload(decode=True)
    assert isinstance(text, bytes)
    confirm = re.search(r"http://\S+/line/link\?t=\S+", text.decode())
    assert confirm, "the mail carries the link"
    status, body, _ = browse(confirm.group(0))  # opened: a page, nothing changes
    assert status == 200 and email in body
    token = re.search(r'name="t" value="([^"]+)"', body).group(1)  # type: ignore[union-attr]
    status, _, dialog = browse(confirm.group(0).split("?")[0], {"t": token})
    assert status == 303 and dialog.startswith(stack.env["SODATE_LINE_DIALOG_URL"]), dialog
    status, body, _ = browse(dialog)  # LINE's dialog: the accountLink webhook goes to the bot
    assert status == 200 and "Linked" in body, body
    return user_id


# --- Sodate's side ---------------------------------------------------------------------------------
def imported(stack: Stack, email: str, name: str) -> dict[str, Any]:
    file = f"{name.lower()}-line.csv"
    stack.drop(file, f"email,name,consent\n{email},{name},yes\n".encode())
    assert stack.report(file)["created"] == 1
    status, contact = stack.api(f"/admin/contacts?email={email}")
    assert status == 200, contact
    return dict(contact)


def contact_of(stack: Stack, email: str) -> dict[str, Any]:
    status, contact = stack.api(f"/admin/contacts?email={email}")
    assert status == 200, contact
    return dict(contact)


def enters(stack: Stack, contact: dict[str, Any]) -> None:
    """The site's tag reports the scenario's event for the person (identified by a mail link's
    token), and the tick walks them: the events stream has entered them."""
    _, minted = stack.api(f"/admin/contacts/{contact['contact_id']}/link-token", method="POST")
    beacon = {"site": stack.env["SODATE_SITE_ID"], "k": "event", "n": START, "u": "http://localhost/line"}
    beacon |= {"v": f"line-{contact['contact_id']}"[:64], "i": minted["token"]}
    request = urllib.request.Request(
        stack.env["SODATE_API"] + "/t",
        json.dumps(beacon).encode(),
        {"Content-Type": "text/plain;charset=UTF-8", "Origin": "http://localhost", "User-Agent": PERSON},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 204

    def walked() -> None:
        post(stack, "/admin/jobs/tick", {})
        assert kinds(stack, contact) & {"line_sent", "mail_sent"}, "entered and sent"

    eventually(walked, timeout=120)


def kinds(stack: Stack, contact: dict[str, Any]) -> set[str]:
    _, timeline = stack.api(f"/admin/contacts/{contact['contact_id']}/timeline?limit=100")
    return {entry["kind"] for entry in timeline["hits"]}


def steps_sent(stack: Stack, contact: dict[str, Any], kind: str) -> list[str]:
    _, timeline = stack.api(f"/admin/contacts/{contact['contact_id']}/timeline?limit=100")
    return sorted(e.get("step", "") for e in timeline["hits"] if e["kind"] == kind)


def clicks(stack: Stack, contact: dict[str, Any]) -> list[tuple[str, str]]:
    _, timeline = stack.api(f"/admin/contacts/{contact['contact_id']}/timeline?limit=100")
    return [(e["step"], e["url"]) for e in timeline["hits"] if e["kind"].endswith("_click")]


def figures(stack: Stack, scenario: str) -> dict[str, dict[str, int]]:
    """Each step's figures in the scenario's report."""
    status, report = stack.api(f"/admin/scenarios/{scenario}/report")
    assert status == 200, report
    return {s["step"]: {k: v for k, v in s.items() if isinstance(v, int)} for s in report["steps"]}


def grew(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]], step: str) -> dict[str, int]:
    """What a step's figures gained (other tests share the report; who waits there is a gauge)."""
    was, now = before.get(step, {}), after.get(step, {})
    return {k: v - was.get(k, 0) for k, v in now.items() if v != was.get(k, 0) and k != "waiting"}


# --- the tests ---------------------------------------------------------------------------------------
def test_a_linked_line_friend_is_pushed_once_and_their_click_takes_the_clicked_branch(
    stack: Stack, moved_clock: Any, line_scenario: str
) -> None:
    who = "yui.line@example.com"
    yui = imported(stack, who, "Yui")
    user_id = link_line(stack, who)
    linked = contact_of(stack, who)
    assert (linked["line_user_id"], linked["line_permission"]) == (user_id, "granted")

    before = figures(stack, line_scenario)
    enters(stack, yui)
    post(stack, "/admin/jobs/tick", {})  # a second tick: the push is not repeated
    offer, hello = pushed_to(stack, user_id)
    assert "/line/link?linkToken=" in offer and hello.startswith("Yui様、LINE連携ありがとうございます。新茶 ")
    assert steps_sent(stack, yui, "mail_sent") == [], "pushed, not mailed"
    assert [m["X-Sodate-Mail"] for m in mails_to(stack, who)] == ["line-link"]

    link = re.search(r"http://\S+/c/\S+", hello)
    assert link and "shop.example.jp" not in link.group(0), "the shop's address is behind a tracked link"
    moved_clock(0.01)  # she reads it a quarter of an hour later, in LINE's browser
    status, _, landing = browse(link.group(0))
    assert status == 302 and landing.startswith("https://shop.example.jp/new")
    assert clicks(stack, yui) == [("hello", "https://shop.example.jp/new")], "on her timeline"

    moved_clock(1)
    post(stack, "/admin/jobs/tick", {})
    post(stack, "/admin/jobs/tick", {})
    (offered,) = pushed_to(stack, user_id)[2:]
    assert offered.startswith("玉露のご案内 http"), "she clicked: the offer, on LINE first"
    assert steps_sent(stack, yui, "line_sent") == ["hello", "offer"]
    assert steps_sent(stack, yui, "mail_sent") == [], "LINE first: no mail"

    after = figures(stack, line_scenario)
    assert grew(before, after, "hello") == {"sent": 1, "line_sent": 1, "clicked": 1, "line_clicked": 1}
    assert grew(before, after, "offer") == {"sent": 1, "line_sent": 1}, "she clicked: the offer branch"
    assert grew(before, after, "remind") == {}


def test_after_unfollow_the_next_send_falls_back_to_mail_and_nothing_is_pushed(
    stack: Stack, moved_clock: Any, line_scenario: str
) -> None:
    who = "ren.line@example.com"
    ren = imported(stack, who, "Ren")
    user_id = link_line(stack, who)
    enters(stack, ren)
    assert len(pushed_to(stack, user_id)) == 2  # the offer of the link, and hello

    control(stack, "unfollow", userId=user_id)  # he blocks the account
    assert contact_of(stack, who)["line_permission"] == "withdrawn"
    moved_clock(1)
    post(stack, "/admin/jobs/tick", {})
    mails = mails_to(stack, who, at_least=2)
    assert [m["X-Sodate-Mail"] for m in mails] == ["line-link", "line_journey#remind#1"]
    assert subject(mails[1]).startswith("三日目のお茶のコツ"), "he did not click: remind, by mail"
    assert len(pushed_to(stack, user_id)) == 2, "nothing more pushed"
    assert steps_sent(stack, ren, "mail_sent") == ["remind"]


def test_a_branch_on_opened_after_a_line_step_is_refused_naming_its_place(
    stack: Stack, line_scenario: str
) -> None:
    opened = EXAMPLES.read_text() + SCENARIO.replace("{clicked: hello}", "{opened: hello}")
    status, answer = put_scenarios(stack, opened)
    assert status == 400, answer
    (issue,) = answer["errors"]
    assert issue["field"] == "scenarios[2].steps[2].branch.if.opened"
    assert "may go by LINE" in issue["message"] and issue["line"]
    _, in_force = stack.api("/admin/definitions/scenarios")
    assert "{clicked: hello}" in in_force["text"], "nothing applied"
