"""LINE and SMS sends through the runner over the in-memory fakes: one frequency cap and the same
quiet hours for every channel, the fleet's bucket making a step wait, and a person on no channel."""

from __future__ import annotations

import pytest

from chalicelib.domain.channels import retry_key
from tests.unit.scenario_world import ScenarioWorld

LINE = {"line_user_id": "U" + "a" * 32, "line_permission": "granted"}


def world(steps: str, window: str = "", cap: str = "{mails: 1, hours: 24}") -> ScenarioWorld:
    return ScenarioWorld(
        f"""
timezone: Asia/Tokyo
frequency_cap: {cap}
scenarios:
  - name: welcome
    entry: {{segment: first_time_buyers}}
    {window}
    steps:
{steps}
      - {{id: bye, exit: true}}
"""
    )


def person(w: ScenarioWorld, first: str, **fields: object) -> str:
    w.people.add("p1@example.com", "c001", status="subscribed", name="P1", **fields)
    w.entered("c001", first_step=first)
    return "c001"


def test_a_line_push_takes_the_same_place_under_the_cap_as_a_mail() -> None:
    w = world(
        """      - {id: mail, send: thank_you}
      - {id: push, send_line: {text: "こんにちは"}}"""
    )
    who = person(w, "mail", **LINE)
    w.runner().tick()
    assert len(w.transport.sent) == 1 and w.line.delivered == []  # the mail took the day's one place
    (held,) = w.people.entries(who, "mail_held")
    assert held["reason"] == "frequency_cap" and held["step"] == "push"
    w.clock.travel(24 * 3600 + 5)
    w.runner().tick()
    assert w.line.delivered == [(LINE["line_user_id"], {"type": "text", "text": "こんにちは"})]


def test_a_text_whose_answer_was_lost_is_never_sent_again_and_the_walk_goes_on() -> None:
    w = world("""      - {id: text, send_sms: "新茶入荷"}""")
    w.sms.lose_answers = 1  # the text went; the answer timed out
    who = person(w, "text", phone="080-1111-2222", sms_permission="granted")
    w.runner().tick()
    w.clock.travel(3600)
    w.runner().tick()
    assert w.sms.sent == [("+818011112222", "新茶入荷")], "once, not twice"
    assert w.journeys.action(who, f"{who}#welcome#text#1")["status"] == "unknown"
    assert w.journeys.total("welcome", "text", "sms_unknown") == 1


def test_a_number_the_sms_service_refuses_as_opted_out_gets_the_next_channel_once() -> None:
    w = world("""      - {id: send, send: thank_you, channels: [sms, email], sms: "新茶入荷"}""")
    w.sms.refusing = frozenset({"+818011112222"})
    who = person(w, "send", phone="080-1111-2222", sms_permission="granted")
    w.runner().tick()
    w.runner().tick()
    assert w.sms.sent == [] and len(w.transport.sent) == 1  # mailed instead, once
    assert w.journeys.action(who, f"{who}#welcome#send#1")["status"] == "sent"
    assert not w.people.entries(who, "mail_held")  # its place under the cap was given back first


def test_quiet_hours_hold_a_text_as_they_hold_a_mail() -> None:
    w = world(
        """      - {id: text, send_sms: "ご注文ありがとうございます"}""",
        window='send_window: {from: "20:00", to: "23:00"}',
    )
    who = person(w, "text", phone="080-1111-2222", sms_permission="granted")
    w.runner().tick()  # 10:00 in Tokyo
    assert w.sms.sent == [] and w.people.entries(who, "mail_held")[0]["reason"] == "send_window"
    w.clock.travel(10 * 3600)  # 20:00
    w.runner().tick()
    assert w.sms.sent == [("+818011112222", "ご注文ありがとうございます")]
    assert w.people.entries(who, "sms_sent")


def test_with_no_send_free_in_the_fleets_bucket_the_step_waits_and_nothing_is_lost() -> None:
    w = world("""      - {id: push, send_line: {text: "hi"}}""")
    who = person(w, "push", **LINE)
    w.buckets.tokens = 0
    assert w.runner().tick()["throttled"] == 1
    assert w.line.delivered == [] and w.journeys.action(who, "c001#welcome#push#1") is None  # given back
    assert w.journeys.mail_times(who) == []  # and its place under the cap too
    assert w.journeys.places[(who, "welcome")].journey.step == "push"
    w.buckets.tokens = None
    w.line.throttle_next = 1  # then LINE itself answers 429 once
    assert w.runner().tick()["throttled"] == 1
    w.runner().tick()
    assert len(w.line.delivered) == 1 and w.journeys.action(who, "c001#welcome#push#1")["status"] == "sent"
    assert w.journeys.counts[("welcome", "2026-11-23", "push", "line_sent")] == 1


def test_the_push_carries_the_ledger_keys_retry_key() -> None:
    w = world("""      - {id: push, send_line: {text: "hi"}}""")
    person(w, "push", **LINE)
    w.runner().tick()
    assert list(w.line.accepted) == [retry_key("c001#welcome#push#1")]


@pytest.mark.parametrize(
    "fields",
    [
        {**LINE, "line_permission": "withdrawn"},
        {"phone": "090-0000-0099", "sms_permission": "granted"},  # the carriers' opt-out list
        {"phone": "03-1234-5678", "sms_permission": "granted"},  # a landline
    ],
)
def test_a_person_on_none_of_the_channels_is_skipped_and_told_once(fields: dict[str, object]) -> None:
    w = world(
        """      - {id: hi, send: thank_you, channels: [line, sms], line: {text: a}, sms: b}""",
    )
    who = person(w, "hi", **fields)
    w.runner().tick()
    w.runner().tick()
    assert w.line.delivered == [] and w.sms.sent == [] and w.transport.sent == []
    (held,) = w.people.entries(who, "mail_held")
    assert held["reason"] == "no_channel" and held["then"] == "skipped"
    assert w.journeys.places[(who, "welcome")].status == "exited"
