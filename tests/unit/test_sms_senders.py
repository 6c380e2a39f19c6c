"""Who a text comes from and what kind it is: the senders setting per country (each mistake named
by its key), the country read from the number, and a step's sms_type reaching its gateway."""

from __future__ import annotations

import json

import pytest

from chalicelib.aws.sms_voice import SmsVoiceSms
from chalicelib.domain.phones import country_of
from chalicelib.domain.sms_senders import BadSendersError, Sender, parse_senders
from tests.unit.test_channel_steps import refused, scenario
from tests.unit.test_messenger import person, world

SENDERS = {
    "JP": {"origination_number": "+815012345678"},
    "US": {"origination_number": "+18445550100"},
    "default": {"sender_id": "Sodate"},
}


@pytest.mark.parametrize(
    ("number", "country"),
    [
        ("+819012345678", "JP"),
        ("+12125550100", "US"),
        ("+14165550100", "CA"),
        ("+18765550100", "US"),  # another NANP country counts as the US
        ("+447700900123", "GB"),
        ("+85291234567", "HK"),
        ("+8869123456789", "TW"),
        ("+9715012345678", ""),  # a country the setting cannot name
        ("090-1234-5678", ""),  # not E.164
    ],
)
def test_a_numbers_country_is_read_from_its_calling_code(number: str, country: str) -> None:
    assert country_of(number) == country


def test_each_country_gets_its_own_sender_and_the_rest_the_default_where_sender_ids_work() -> None:
    senders = parse_senders(json.dumps(SENDERS))
    assert senders.for_number("+819012345678") == Sender(origination_number="+815012345678")
    assert senders.for_number("+12125550100") == Sender(origination_number="+18445550100")
    assert senders.for_number("+447700900123") == Sender(sender_id="Sodate")
    assert senders.for_number("+821012345678") == Sender(), "Korea takes no sender ID: SNS picks a number"
    assert parse_senders("").for_number("+819012345678") == Sender()


@pytest.mark.parametrize(
    ("setting", "where", "says"),
    [
        ("{", "SODATE_SMS_SENDERS", "not JSON"),
        ("[]", "SODATE_SMS_SENDERS", "expected"),
        ('{"XX": {"sender_id": "Sodate"}}', "SODATE_SMS_SENDERS.XX", "JP"),
        ('{"JP": {"sender_id": "Sodate"}}', "SODATE_SMS_SENDERS.JP.sender_id", "no sender ID support for JP"),
        ('{"GB": {"sender_id": "So date"}}', "SODATE_SMS_SENDERS.GB.sender_id", "3 to 11"),
        ('{"GB": {"sender_id": "12345"}}', "SODATE_SMS_SENDERS.GB.sender_id", "one letter"),
        ('{"JP": {"origination_number": "+18445550100"}}', "SODATE_SMS_SENDERS.JP.origination_number", "+81"),
        ('{"JP": {"origination_number": 815012345678}}', "SODATE_SMS_SENDERS.JP.origination_number", "text"),
        ('{"JP": {}}', "SODATE_SMS_SENDERS.JP", "origination_number"),
        (
            '{"default": {"origination_number": "+815012345678"}}',
            "SODATE_SMS_SENDERS.default.origination_number",
            "own country",
        ),
    ],
)
def test_a_wrong_setting_is_refused_naming_its_key(setting: str, where: str, says: str) -> None:
    with pytest.raises(BadSendersError) as caught:
        parse_senders(setting)
    assert str(caught.value).startswith(f"{where}: ") and says in str(caught.value)


def test_the_gateway_asks_for_the_type_the_countrys_sender_and_the_configuration_set() -> None:
    transactional = SmsVoiceSms(None, "sodate-sms", parse_senders(json.dumps(SENDERS)), "TRANSACTIONAL")
    assert transactional.request("+819012345678", "ご注文を承りました") == {
        "DestinationPhoneNumber": "+819012345678",
        "MessageBody": "ご注文を承りました",
        "MessageType": "TRANSACTIONAL",
        "ConfigurationSetName": "sodate-sms",
        "OriginationIdentity": "+815012345678",
    }
    promotional = SmsVoiceSms(None, "sodate-sms", parse_senders(json.dumps(SENDERS)))
    assert promotional.request("+447700900123", "hi")["OriginationIdentity"] == "Sodate"
    assert promotional.request("+447700900123", "hi")["MessageType"] == "PROMOTIONAL"
    assert "OriginationIdentity" not in SmsVoiceSms(None, "sodate-sms").request("+819012345678", "hi")


def test_a_texts_type_is_promotional_unless_its_step_says_transactional() -> None:
    plain = scenario({"id": "t", "send_sms": "ご来店ありがとうございました"}).steps["t"].plan
    told = scenario({"id": "t", "send_sms": {"text": "ご注文を承りました", "sms_type": "transactional"}})
    assert plain.sms.sms_type == "promotional"  # type: ignore[union-attr]
    assert told.steps["t"].plan.sms.sms_type == "transactional"  # type: ignore[union-attr]
    sent = {"id": "s", "send": "thank_you", "channels": ["sms", "email"]}
    in_a_send = scenario({**sent, "sms": {"text": "b", "sms_type": "promotional"}}).steps["s"].plan
    assert in_a_send.sms.sms_type == "promotional"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("step", "where"),
    [
        (
            {"id": "t", "send_sms": {"text": "a", "sms_type": "urgent"}},
            "scenarios[0].steps[0].send_sms.sms_type",
        ),
        ({"id": "t", "send_sms": {"text": "a", "sms_type": True}}, "scenarios[0].steps[0].send_sms.sms_type"),
        ({"id": "t", "send_sms": {"sms_type": "transactional"}}, "scenarios[0].steps[0].send_sms"),
        ({"id": "t", "send_sms": {"text": "a", "type": "transactional"}}, "scenarios[0].steps[0].send_sms"),
        (
            {"id": "s", "send": "thank_you", "channels": ["sms"], "sms": {"text": "a", "sms_type": "otp"}},
            "scenarios[0].steps[0].sms.sms_type",
        ),
    ],
)
def test_a_wrong_sms_type_is_refused_where_it_is_written(step: dict[str, object], where: str) -> None:
    error = refused(step)
    assert error.where == where and ("transactional" in error.message or "text" in error.message)


def test_a_transactional_step_goes_through_the_transactional_gateway() -> None:
    w = world('      - {id: text, send_sms: {text: "ご注文を承りました", sms_type: transactional}}')
    person(w, "text", phone="080-1111-2222", sms_permission="granted")
    w.runner().tick()
    assert w.transactional_sms.sent == [("+818011112222", "ご注文を承りました")] and w.sms.sent == []
