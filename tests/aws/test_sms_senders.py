"""Texts through End User Messaging SMS (its stand-in) from the composition root: each carries its
step's type, the sender the SODATE_SMS_SENDERS setting names for the destination's country, and
the stack's configuration set, as the stand-in took them off the wire."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib import bootstrap, clock
from tests.aws.test_line_sms import Channels, sms_sent, sms_texts
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
) -> Iterator[dict[str, dict[str, Any]]]:
    """Three people due a text; after the test, each text the stand-in took, by number."""
    monkeypatch.setenv("SODATE_SMS_SENDERS", json.dumps(SENDERS))
    monkeypatch.setenv("SODATE_SMS_RATE", "1000")  # three texts in one tick, a lease of them at once
    bootstrap.reset()
    clock.reset()
    to_tokyo_hour(10)
    world = Channels(aws, tmp_path, None, SCENARIOS)
    for n, phone in enumerate(["090-1234-5678", "+447700900123", "+12125550100"], start=1):
        world.person(n, phone=phone, sms_permission="granted")
    taken: dict[str, dict[str, Any]] = {}
    yield taken
    world.stop()
    clock.reset()


def test_each_text_carries_its_type_its_countrys_sender_and_the_configuration_set(
    published: dict[str, dict[str, Any]], aws: dict[str, Any]
) -> None:
    assert bootstrap.runner().tick()["sent"] == 3
    published.update({t["DestinationPhoneNumber"]: t for t in sms_texts()})
    assert len(published) == len(sms_sent()) == 3  # each once
    origins = {number: text["OriginationIdentity"] for number, text in published.items()}
    assert origins == {
        "+819012345678": "+815012345678",
        "+447700900123": "Sodate",
        "+12125550100": "+18445550100",
    }
    assert {t["MessageType"] for t in published.values()} == {"TRANSACTIONAL"}
    assert (
        {t["ConfigurationSetName"] for t in published.values()}
        == {aws["SmsConfigurationSet"]}
        == {"sodate-sms"}
    )
    assert all(t["Context"] == {} for t in published.values())  # nothing personal rides along


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
