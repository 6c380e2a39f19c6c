"""What became of a text, over the wire: a scenario step texts through End User Messaging SMS (its
stand-in), whose events -- TEXT_PENDING, then TEXT_DELIVERED, or a failure for a simulator number
that fails -- it publishes to the configuration set's SNS destination, the <Prefix>-sms-events
topic; they come through the real feedback queue to the handler, and the step's report counts
them by the id the send was answered with.  Also: a throttled text leaves the person at the step."""

from __future__ import annotations

import json
import time
from typing import Any

from chalicelib import bootstrap, clock
from tests.aws.conftest import queued_bodies
from tests.aws.test_line_sms import Channels, channels, sms_sent, sms_texts
from tests.unit.test_sms_receipts import sms_event

__all__ = ["channels"]  # the fixture, shared with the sends' own tests

SUCCESS_US, FAILURE_US = "+14254147755", "+14254147167"  # "Simulator phone numbers": United States


def feedback(aws: dict[str, Any], api: Any, published: int) -> list[dict[str, Any]]:
    """The events the stand-in published, as the feedback queue holds them, handed to the handler
    (what the event source mapping does); the events, as SNS carried them."""
    aws["texts"].settle()
    bodies = queued_bodies(aws["session"].client("sqs"), aws["MailFeedbackQueueUrl"])
    assert len(bodies) == published
    api.lambda_.invoke(
        "mail_feedback",
        api.events.generate_sqs_event(queue_name="sodate-mail-feedback", message_bodies=bodies),
    )
    return [json.loads(json.loads(body)["Message"]) for body in bodies]


def report_of_sms(name: str = "hello") -> dict[str, Any]:
    report = bootstrap.scenario_reports().report(name)
    (step,) = [s for s in report["steps"] if s["step"] == "hi"]
    return dict(step["by_channel"]["sms"])


def test_the_delivery_event_the_service_publishes_counts_the_text_delivered_at_its_step_once(
    channels: Channels, aws: dict[str, Any], api: Any
) -> None:
    # GIVEN a text sent by the scenario step `hi` through End User Messaging SMS, and a LINE push
    channels.messenger()
    texted = channels.person(1, phone=SUCCESS_US, sms_permission="granted")
    pushed = channels.person(2, channels.follower(), line_permission="granted")
    assert bootstrap.runner().tick()["sent"] == 2 and len(sms_sent()) == 1
    text_id = channels.ledger(texted)["message_id"]
    assert bootstrap.journey_store().by_message("sms", text_id) == (texted, f"{texted}#hello#hi#1")
    assert bootstrap.journey_store().by_message("line", channels.ledger(pushed)["message_id"]) is None

    # WHEN the service publishes what became of it (pending, then delivered) to the events topic
    events = feedback(aws, api, 2)

    # THEN the events name the text; the step counts it once, as delivered and as an SMS delivered
    assert [(e["eventType"], e["isFinal"], e["messageId"]) for e in events] == [
        ("TEXT_PENDING", False, text_id),
        ("TEXT_DELIVERED", True, text_id),
    ]
    assert events[1]["destinationPhoneNumber"] == SUCCESS_US and events[1]["messageType"] == "PROMOTIONAL"
    assert channels.counters()["sms_delivered"] == channels.counters()["delivered"] == 1
    assert report_of_sms() == {
        "sent": 1,
        "delivered": 1,
        "failed": 0,
        "clicked": 0,
        "delivery_rate": 1.0,
        "click_rate": 0.0,
    }
    line = bootstrap.scenario_reports().report("hello")["steps"][0]["by_channel"]["line"]
    assert line["sent"] == 1 and line["delivered"] is None  # LINE's stays unknown

    # AND the same final word again (SNS delivers at least once) counts nothing more
    sns = aws["session"].client("sns")
    sns.publish(TopicArn=aws["SmsEventsTopicArn"], Message=json.dumps(sms_event(text_id)))
    bodies = queued_bodies(aws["session"].client("sqs"), aws["MailFeedbackQueueUrl"])
    api.lambda_.invoke(
        "mail_feedback",
        api.events.generate_sqs_event(queue_name="sodate-mail-feedback", message_bodies=bodies),
    )
    assert channels.counters()["sms_delivered"] == 1
    assert queued_bodies(aws["session"].client("sqs"), aws["ImportDeadLetterQueueUrl"]) == []  # none parked


def test_a_simulator_number_that_fails_counts_the_text_failed(
    channels: Channels, aws: dict[str, Any], api: Any
) -> None:
    channels.messenger()
    texted = channels.person(1, phone=FAILURE_US, sms_permission="granted")
    assert bootstrap.runner().tick()["sent"] == 1
    events = feedback(aws, api, 2)
    assert events[-1]["eventType"] == "TEXT_CARRIER_UNREACHABLE" and events[-1]["isFinal"] is True
    assert channels.ledger(texted)["status"] == "sent"  # the service took it; the carrier did not
    assert channels.counters()["sms_failed"] == 1 and "sms_delivered" not in channels.counters()
    assert report_of_sms()["failed"] == 1 and report_of_sms()["delivered"] == 0


def test_a_throttled_text_leaves_the_person_at_the_step_and_goes_once_on_a_later_tick(
    channels: Channels, aws: dict[str, Any]
) -> None:
    channels.messenger()
    aws["texts"].rate_per_s = 1  # the account's rate: one text a second, then ThrottlingException
    first = channels.person(1, phone=SUCCESS_US, sms_permission="granted")
    second = channels.person(2, phone="+14254140000", sms_permission="granted")
    answer = bootstrap.runner().tick()
    assert answer["sent"] == 1 and answer.get("throttled")
    waiting = second if channels.ledger(first).get("status") == "sent" else first
    assert channels.ledger(waiting) == {}  # its claim given back: at the step, nothing sent
    clock.travel(60)
    time.sleep(1.0)  # the stand-in counts in one-second windows of real time
    assert bootstrap.runner().tick()["sent"] == 1
    assert sorted(number for number, _ in sms_sent()) == sorted([SUCCESS_US, "+14254140000"])  # once each
    assert len(sms_texts()) == 2 and channels.counters()["sms_sent"] == 2
