"""What became of a scenario's texts: End User Messaging SMS's delivery events (their published
format) counted at the step that sent the text, once, by the id the send was answered with."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.errors import BadInputError
from chalicelib.domain.sms_receipts import is_sms_receipt, sms_receipt
from tests.unit.scenario_world import ScenarioWorld

TEXTS = """
timezone: Asia/Tokyo
scenarios:
  - name: welcome
    entry: {segment: first_time_buyers}
    steps:
      - {id: text, send_sms: "{{ name | default('お客') }}様 ご来店ありがとうございました"}
      - {id: bye, exit: true}
"""


def sms_event(message_id: str, event_type: str = "TEXT_DELIVERED", final: bool = True) -> dict[str, Any]:
    """An event as End User Messaging SMS publishes it to an SNS event destination (the AWS End
    User Messaging SMS User Guide, "Example event data": the SMS example log's fields)."""
    status = event_type.removeprefix("TEXT_")
    return {
        "eventType": event_type,
        "eventVersion": "1.0",
        "eventTimestamp": 1795000000470,
        "isFinal": final,
        "originationPhoneNumber": "+815012340000",
        "destinationPhoneNumber": "+818011112222",
        "isoCountryCode": "JP",
        "mcc": "440",
        "mnc": "10",
        "messageId": message_id,
        "messageRequestTimestamp": 1795000000170,
        "messageEncoding": "UCS2",
        "messageType": "PROMOTIONAL",
        "messageStatus": status,
        "messageStatusDescription": "Message has been accepted by phone",
        "totalMessageParts": 1,
        "totalMessagePrice": 0.07,
        "totalCarrierFee": 0.0,
    }


def texted(people: int = 1) -> tuple[ScenarioWorld, list[str]]:
    """People texted by the step `text`; the message ids SNS answered, in order."""
    w = ScenarioWorld(TEXTS)
    for n in range(people):
        who = f"c{n:03d}"
        phone = f"080-1111-22{n:02d}"
        w.people.add(
            f"p{n}@example.com", who, status="subscribed", name=f"P{n}", phone=phone, sms_permission="granted"
        )
        w.entered(who, first_step="text")
    w.runner().tick()
    ids = [w.journeys.action(f"c{n:03d}", f"c{n:03d}#welcome#text#1")["message_id"] for n in range(people)]
    assert len(w.sms.sent) == people and ids == [f"sns{n + 1}" for n in range(people)]
    return w, ids


def told(w: ScenarioWorld, *events: dict[str, Any]) -> list[bool]:
    receipts = w.sms_receipts()
    return [receipts.receive(sms_receipt(e)) for e in events]


def figures(w: ScenarioWorld) -> dict[str, int]:
    found: dict[str, int] = {}
    for _, step, figure, n in w.journeys.counters("welcome"):
        if step == "text":
            found[figure] = found.get(figure, 0) + n
    return found


def test_a_delivered_text_counts_once_at_its_step_and_apart_as_an_sms_however_often_it_is_told():
    w, (sent,) = texted()

    # TEXT_SUCCESSFUL and TEXT_DELIVERED say the same (AWS uses them interchangeably by country)
    assert told(w, sms_event(sent), sms_event(sent), sms_event(sent, "TEXT_SUCCESSFUL")) == [
        True,
        False,
        False,
    ]

    assert figures(w)["delivered"] == figures(w)["sms_delivered"] == 1
    (entry,) = w.people.entries("c000", "sms_delivered")
    assert entry["step"] == "text" and entry["name"] == "welcome"


def test_a_failure_counts_only_once_final_and_never_after_the_text_was_delivered():
    w, (unlucky, lucky) = texted(2)

    assert told(w, sms_event(unlucky, "TEXT_CARRIER_UNREACHABLE", final=False)) == [False]  # may yet go
    assert told(w, sms_event(unlucky, "TEXT_CARRIER_UNREACHABLE")) == [True]
    assert told(w, sms_event(lucky), sms_event(lucky, "TEXT_UNKNOWN")) == [True, False]

    assert figures(w)["failed"] == figures(w)["sms_failed"] == 1
    assert figures(w)["delivered"] == figures(w)["sms_delivered"] == 1
    (entry,) = w.people.entries("c000", "sms_failed")
    assert entry["status"] == "CARRIER_UNREACHABLE"


def test_queued_pending_and_texts_no_scenario_sent_count_nothing():
    w, (sent,) = texted()

    assert told(w, sms_event(sent, "TEXT_QUEUED"), sms_event(sent, "TEXT_PENDING"), sms_event("other")) == [
        False,
        False,
        False,
    ]
    assert "delivered" not in figures(w) and "failed" not in figures(w)


def test_eventbridges_envelope_holds_the_same_event():
    detail = sms_event("m-1", "TEXT_SUCCESSFUL")
    routed = {
        "source": "aws.sms-voice",
        "detail-type": "Text Message Delivery Status Updated",
        "detail": detail,
    }
    assert is_sms_receipt(routed) and sms_receipt(routed) == sms_receipt(detail)
    assert sms_receipt(routed).outcome == "delivered"


@pytest.mark.parametrize(
    "broken",
    [
        {"eventType": "TEXT_DELIVERED", "messageId": 7},
        {"eventType": "TEXT_DELIVERED", "messageId": ""},
        {"eventType": "TEXT_DELIVERED", "messageId": "x" * 101},
    ],
)
def test_an_event_that_is_not_one_is_refused_naming_what_is_wrong(broken):
    assert is_sms_receipt(broken)
    with pytest.raises(BadInputError, match="messageId"):
        sms_receipt(broken)


def test_ses_events_and_replies_to_our_number_are_not_taken_for_receipts():
    assert not is_sms_receipt({"eventType": "Delivery", "mail": {"messageId": "m"}})
    assert not is_sms_receipt({"originationNumber": "+819012345678", "messageBody": "停止"})
