"""What became of a text, over the wire: a scenario step texts through moto's SNS, End User
Messaging SMS's delivery event (its published format) comes through the <Prefix>-sms-events topic
into the real feedback queue, and the step's report counts it -- by the id SNS answered."""

from __future__ import annotations

import json
from typing import Any

from chalicelib import bootstrap
from tests.aws.conftest import queued_bodies
from tests.aws.test_line_sms import Channels, channels, sms_sent
from tests.unit.test_sms_receipts import sms_event

__all__ = ["channels"]  # the fixture, shared with the sends' own tests


def feedback(aws: dict[str, Any], api: Any, *events: dict[str, Any]) -> None:
    """The events published as End User Messaging SMS publishes them to its SNS destination, and
    the feedback queue's messages handed to the handler (what the event source mapping does)."""
    sns, sqs = aws["session"].client("sns"), aws["session"].client("sqs")
    for event in events:
        sns.publish(TopicArn=aws["SmsEventsTopicArn"], Message=json.dumps(event))
    bodies = queued_bodies(sqs, aws["MailFeedbackQueueUrl"])
    assert len(bodies) == len(events)
    api.lambda_.invoke(
        "mail_feedback",
        api.events.generate_sqs_event(queue_name="sodate-mail-feedback", message_bodies=bodies),
    )


def test_a_delivery_event_on_the_feedback_queue_counts_the_text_delivered_at_its_step_once(
    channels: Channels, aws: dict[str, Any], api: Any
) -> None:
    # GIVEN a text sent by the scenario step `hi` through SNS, and a LINE push beside it
    channels.messenger()
    texted = channels.person(1, phone="090-1234-5678", sms_permission="granted")
    pushed = channels.person(2, channels.follower(), line_permission="granted")
    assert bootstrap.runner().tick()["sent"] == 2 and len(sms_sent()) == 1
    text_id = channels.ledger(texted)["message_id"]
    assert bootstrap.journey_store().by_message("sms", text_id) == (texted, f"{texted}#hello#hi#1")
    assert bootstrap.journey_store().by_message("line", channels.ledger(pushed)["message_id"]) is None

    # WHEN End User Messaging SMS says, twice, that it was delivered (and once that it is pending)
    feedback(
        aws, api, sms_event(text_id, "TEXT_PENDING", final=False), sms_event(text_id), sms_event(text_id)
    )

    # THEN the step counts it once, as delivered and as an SMS delivered; LINE's stays unknown
    assert channels.counters()["sms_delivered"] == channels.counters()["delivered"] == 1
    report = bootstrap.scenario_reports().report("hello")
    (step,) = [s for s in report["steps"] if s["step"] == "hi"]
    assert step["by_channel"]["sms"] == {
        "sent": 1,
        "delivered": 1,
        "failed": 0,
        "clicked": 0,
        "delivery_rate": 1.0,
        "click_rate": 0.0,
    }
    assert step["by_channel"]["line"]["sent"] == 1 and step["by_channel"]["line"]["delivered"] is None
    assert queued_bodies(aws["session"].client("sqs"), aws["ImportDeadLetterQueueUrl"]) == []  # none parked
