"""Branches on what a person did with a LINE message or a text, over the in-memory fakes: a click
on its tracked link takes `clicked` as a mail's click does; `opened`, which nothing but a mail
can tell, is refused when the scenarios load, the error naming its place."""

from __future__ import annotations

import re
from typing import Any

import pytest

from chalicelib.domain.definitions.compile import DefinitionsRejectedError
from chalicelib.services.consent import ConsentRecords
from chalicelib.services.mail_events import MailEvents
from chalicelib.services.sales_alerts import SalesAlerts
from chalicelib.services.scenario_actions import Actions
from tests.fakes import MemoryConsentLedger, MemorySites
from tests.unit.scenario_world import ScenarioWorld

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
LINE = {"line_user_id": "U" + "b" * 32, "line_permission": "granted"}
SMS = {"sms_permission": "granted"}
TRACKED = re.compile(r"https://t\.example\.jp/api/c/(\S+)")
SHORT = re.compile(r"https://t\.example\.jp/api/s/([0-9A-Za-z]+)")
SENDS = {
    "send_line": '{id: hello, send_line: {text: "新茶 https://shop.example.jp/new"}}',
    "send_sms": '{id: hello, send_sms: "新茶 https://shop.example.jp/new"}',
    "send": '{id: hello, send: thank_you, channels: [line, email], line: {text: "新茶 https://shop.example.jp/new"}}',
}


def scenarios(send: str, did: str = "clicked") -> str:
    return f"""
timezone: Asia/Tokyo
frequency_cap: {{mails: 3, hours: 24}}
scenarios:
  - name: welcome
    entry: {{segment: first_time_buyers}}
    steps:
      - {send}
      - {{id: a_day, wait: {{days: 1}}}}
      - id: engaged
        branch: {{if: {{{did}: hello}}, then: keen, else: quiet}}
      - {{id: keen, update: {{attrs: {{path: keen}}}}, next: bye}}
      - {{id: quiet, update: {{attrs: {{path: quiet}}}}}}
      - {{id: bye, exit: true}}
"""


class World(ScenarioWorld):
    """The runner's world, and the click door (MailEvents) over the same fakes."""

    def __init__(self, send: str) -> None:
        super().__init__(scenarios(SENDS[send]))
        actions = Actions(self.journeys, self.people, SalesAlerts(self.alerts), self.post, lambda: "w" * 64)  # type: ignore[arg-type]
        consent = ConsentRecords(MemoryConsentLedger(), self.clock)
        self.events = MailEvents(
            self.journeys,  # type: ignore[arg-type]
            self.people,  # type: ignore[arg-type]
            actions,
            self.people,  # type: ignore[arg-type]
            lambda: "k" * 64,
            self.clock,
            MemorySites(),  # type: ignore[arg-type]
            consent,
        )

    def person(self, n: int, **fields: object) -> str:
        contact_id = f"c{n:03d}"
        fields["attrs"] = {}  # the branches write theirs
        self.people.add(f"p{n}@example.jp", contact_id, status="subscribed", name=f"P{n}", **fields)
        self.entered(contact_id, first_step="hello")
        return contact_id

    def tracked(self, to: str) -> list[str]:
        """The click tokens in what was pushed to this LINE user or texted to this number."""
        texts = [str(message.get("text", "")) for user, message in self.line.delivered if user == to]
        texts += [text for number, text in self.sms.sent if number == to]
        found = [token for text in texts for token in TRACKED.findall(text)]
        codes = [code for text in texts for code in SHORT.findall(text)]  # a text's links are short
        return found + [self.short_codes.codes[code][0] for code in codes]

    def path(self, contact_id: str) -> str:
        contact = self.people.by_id(contact_id) or {}
        return str((contact.get("attrs") or {}).get("path", ""))

    def figure(self, name: str) -> int:
        return int(self.journeys.total("welcome", "hello", name))


PEOPLE: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {  # who clicks, who not, where
    "send_line": (LINE, {**LINE, "line_user_id": "U" + "c" * 32}, LINE["line_user_id"]),
    "send_sms": (
        {"phone": "090-1111-2222", **SMS},
        {"phone": "090-1111-3333", **SMS},
        "+819011112222",
    ),
    "send": (LINE, {**LINE, "line_user_id": "U" + "c" * 32}, LINE["line_user_id"]),
}


@pytest.mark.parametrize("send", ["send_line", "send_sms", "send"])
def test_a_click_on_a_line_message_or_a_texts_link_takes_the_clicked_branch(send: str) -> None:
    w = World(send)
    clicks, still, address = PEOPLE[send]
    keen, quiet = w.person(1, **clicks), w.person(2, **still)
    w.runner().tick()
    assert len(w.line.delivered) + len(w.sms.sent) == 2 and w.transport.sent == [], "neither was mailed"
    (token,) = w.tracked(address)
    w.clock.travel(15 * 60)  # keen reads it a quarter of an hour later
    landing = w.events.clicked(token, CHROME, "GET")
    assert landing == "https://shop.example.jp/new"
    w.clock.travel(86400)
    w.runner().tick()
    assert (w.path(keen), w.path(quiet)) == ("keen", "quiet")
    channel = "sms" if send == "send_sms" else "line"
    assert (w.figure("clicked"), w.figure(f"{channel}_clicked")) == (1, 1)
    assert w.figure("opened") == 0, "a click on LINE or in a text is no mail's open"
    (click,) = [e for e in w.people.timelines[keen].values() if e["kind"] == "email_click"]
    assert click["source"] == channel, "the person's timeline says where the click was"


def test_a_click_within_seconds_of_the_push_is_a_machines_and_takes_no_branch() -> None:
    w = World("send_line")
    who = w.person(1, **LINE)
    w.runner().tick()
    (token,) = w.tracked(LINE["line_user_id"])
    w.clock.travel(3)  # LINE's link preview fetches it at once
    w.events.clicked(token, CHROME, "GET")
    w.clock.travel(86400)
    w.runner().tick()
    assert w.path(who) == "quiet" and w.figure("line_clicked") == 0


@pytest.mark.parametrize(
    ("send", "words"),
    [
        ("send_line", "'hello' may go by LINE, where no one can tell whether it was opened"),
        ("send_sms", "'hello' may go by SMS, where no one can tell whether it was opened"),
        ("send", "'hello' may go by LINE, where no one can tell"),
    ],
)
def test_a_branch_on_opened_after_a_step_that_may_go_by_line_or_sms_is_refused_at_load(
    send: str, words: str
) -> None:
    with pytest.raises(DefinitionsRejectedError) as refused:
        ScenarioWorld(scenarios(SENDS[send], did="opened"))
    (issue,) = refused.value.issues
    assert issue.field == "scenarios[0].steps[2].branch.if.opened"
    assert words in issue.message and "branch on clicked" in issue.message


def test_a_branch_on_opened_after_a_mail_and_on_clicked_after_any_send_load() -> None:
    mail = "{id: hello, send: thank_you, channels: [email]}"
    assert ScenarioWorld(scenarios(mail, did="opened")).definitions.in_force().definitions.journeys.scenarios
    for send in SENDS.values():
        assert ScenarioWorld(scenarios(send)).definitions.in_force().definitions.journeys.scenarios
