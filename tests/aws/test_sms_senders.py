"""Texts over moto's SNS through the composition root: each carries its step's type and the sender
the SODATE_SMS_SENDERS setting names for the destination's country, as message attributes SNS
parsed off the wire (moto keeps the text, not its attributes: they are caught on their way in)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib import bootstrap, clock
from tests.aws.test_line_sms import Channels, sms_sent
from tests.aws.test_scenarios import to_tokyo_hour

SENDERS = {
    "JP": {"origination_number": "+815012345678"},
    "US": {"origination_number": "+18445550100"},
    "default": {"sender_id": "Sodate"},
}
SCENARIOS = """
timezone: Asia/Tokyo
frequency_cap: {mails: 2, hours: 24}
scenarios:
  - name: hello
    entry: {event: purchase}
    steps:
      - id: hi
        send: thank_you
        channels: [sms, email]
        sms: {text: "ご注文を承りました", sms_type: transactional}
      - {id: bye, exit: true}
"""


@pytest.fixture
def published(
    aws: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """The message attributes of each text SNS took, by number."""
    from moto.sns.models import SNSBackend

    taken: dict[str, Any] = {}
    publish = SNSBackend.publish

    def keeping(
        self: Any, message: str, arn: str | None, phone_number: str | None = None, **rest: Any
    ) -> str:
        if phone_number:
            taken[phone_number] = rest.get("message_attributes")
        return str(publish(self, message, arn, phone_number, **rest))

    monkeypatch.setattr(SNSBackend, "publish", keeping)
    monkeypatch.setenv("SODATE_SMS_SENDERS", json.dumps(SENDERS))
    monkeypatch.setenv("SODATE_SMS_RATE", "1000")  # three texts in one tick, a lease of them at once
    bootstrap.reset()
    clock.reset()
    to_tokyo_hour(10)
    world = Channels(aws, tmp_path, None, SCENARIOS)
    for n, phone in enumerate(["090-1234-5678", "+447700900123", "+12125550100"], start=1):
        world.person(n, phone=phone, sms_permission="granted")
    yield taken
    world.stop()
    clock.reset()


def attribute(value: str) -> dict[str, str]:
    return {"Type": "String", "Value": value}  # as SNS parsed it


def test_each_text_carries_its_type_and_its_countrys_sender(published: dict[str, Any]) -> None:
    assert bootstrap.runner().tick()["sent"] == 3
    assert len(sms_sent()) == 3
    assert published["+819012345678"] == {
        "AWS.SNS.SMS.SMSType": attribute("Transactional"),
        "AWS.MM.SMS.OriginationNumber": attribute("+815012345678"),
    }
    assert published["+447700900123"] == {
        "AWS.SNS.SMS.SMSType": attribute("Transactional"),
        "AWS.SNS.SMS.SenderID": attribute("Sodate"),
    }
    assert published["+12125550100"] == {
        "AWS.SNS.SMS.SMSType": attribute("Transactional"),
        "AWS.MM.SMS.OriginationNumber": attribute("+18445550100"),
    }


def test_a_wrong_senders_setting_fails_each_text_naming_it_and_mail_goes_on(
    aws: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SODATE_SMS_SENDERS", json.dumps({"JP": {"sender_id": "Sodate"}}))  # none in Japan
    bootstrap.reset()
    clock.reset()
    to_tokyo_hour(10)
    world = Channels(aws, tmp_path, None, SCENARIOS)
    try:
        texted = world.person(1, phone="090-1234-5678", sms_permission="granted")
        mailed = world.person(2)
        bootstrap.runner().tick()
        assert sms_sent() == []
        failed = world.ledger(texted)
        assert failed["status"] == "failed" and "SODATE_SMS_SENDERS.JP.sender_id" in failed["reason"]
        assert world.ledger(mailed)["status"] == "sent" and "channel" not in world.ledger(mailed)
        assert world.counters()["sms_failed"] == 1
    finally:
        world.stop()
        clock.reset()
