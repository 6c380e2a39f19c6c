"""The End User Messaging SMS stand-in over real HTTP on loopback, through real boto3 and the
adapter Sodate sends with: what the service answers and what it publishes for each text."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

from chalicelib.aws.sms_voice import SmsVoiceSms
from chalicelib.domain.channels import ChannelOptedOutError, ChannelRejectedError, ChannelThrottledError
from devstack.sms_voice_service import Account
from devstack.sms_voice_standin import serve

TOPIC = "arn:aws:sns:us-east-1:123456789012:sodate-sms-events"


class Standin:
    def __init__(self, url: str, account: Account, published: list[tuple[str, dict[str, Any]]]) -> None:
        self.url, self.account, self.published = url, account, published
        session = boto3.session.Session("local", "local", region_name="us-east-1")
        self.client = session.client(
            "pinpoint-sms-voice-v2", endpoint_url=url, config=Config(retries={"total_max_attempts": 1})
        )

    def raw(self, target: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """A request botocore would not send (it checks lengths and required members first)."""
        headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"}
        request = urllib.request.Request(self.url + "/", body, headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[Standin]:
    published: list[tuple[str, dict[str, Any]]] = []
    url, account, stop = serve(
        0, tmp_path / "sms", lambda t, m: published.append((t, json.loads(m))), delay_s=0
    )
    found = Standin(url, account, published)
    found.client.create_configuration_set(ConfigurationSetName="sodate-sms")
    found.client.create_event_destination(
        ConfigurationSetName="sodate-sms",
        EventDestinationName="feedback",
        MatchingEventTypes=["TEXT_ALL"],
        SnsDestination={"TopicArn": TOPIC},
    )
    yield found
    stop()


def code_of(error: ClientError) -> tuple[str, str]:
    return error.response["Error"]["Code"], str(error.response.get("Reason", ""))


def test_a_text_is_kept_once_and_its_events_published_to_the_sets_sns_destination(standin: Standin) -> None:
    gateway = SmsVoiceSms(standin.client, "sodate-sms", kind="TRANSACTIONAL")
    message_id = gateway.send("+14254147755", "ご注文を承りました")
    standin.account.settle()
    (text,) = standin.account.texts
    assert (text["MessageId"], text["MessageType"], text["ConfigurationSetName"]) == (
        message_id,
        "TRANSACTIONAL",
        "sodate-sms",
    )
    events = [event for topic, event in standin.published if topic == TOPIC]
    assert [(e["eventType"], e["isFinal"], e["messageStatus"]) for e in events] == [
        ("TEXT_PENDING", False, "PENDING"),
        ("TEXT_DELIVERED", True, "DELIVERED"),
    ]
    assert events[1]["messageEncoding"] == "UNICODE" and events[1]["isoCountryCode"] == "US"
    assert {e["messageId"] for e in events} == {message_id} and "context" not in events[1]
    with urllib.request.urlopen(standin.url + "/_standin/texts", timeout=5) as answer:
        assert [t["MessageId"] for t in json.loads(answer.read())["texts"]] == [message_id]
    with urllib.request.urlopen(standin.url + "/_standin/", timeout=5) as answer:
        assert "ご注文を承りました" in answer.read().decode()


def test_a_failure_simulator_number_gets_a_final_failure_event(standin: Standin) -> None:
    SmsVoiceSms(standin.client, "sodate-sms").send("+447860019067", "hello")  # United Kingdom, Failure
    standin.account.settle()
    final = standin.published[-1][1]
    assert final["eventType"] == "TEXT_CARRIER_UNREACHABLE" and final["isFinal"] is True
    assert final["messageEncoding"] == "GSM" and final["totalMessageParts"] == 1


def test_an_unknown_configuration_set_is_not_found_and_the_text_waits(standin: Standin) -> None:
    with pytest.raises(ClientError) as caught:
        standin.client.send_text_message(
            DestinationPhoneNumber="+14254147755", MessageBody="hi", ConfigurationSetName="nope"
        )
    assert code_of(caught.value)[0] == "ResourceNotFoundException"
    assert caught.value.response["ResourceType"] == "configuration-set"
    with pytest.raises(ChannelThrottledError):  # the setup, not the person: sent once put right
        SmsVoiceSms(standin.client, "nope").send("+14254147755", "hi")
    assert standin.account.texts == []


def test_an_opted_out_number_is_refused_with_the_reason_and_the_gateway_says_opted_out(
    standin: Standin,
) -> None:
    standin.client.put_opted_out_number(OptOutListName="Default", OptedOutNumber="+819012345699")
    listed = standin.client.describe_opted_out_numbers(
        OptOutListName="Default", OptedOutNumbers=["+819012345699"]
    )
    assert [n["OptedOutNumber"] for n in listed["OptedOutNumbers"]] == ["+819012345699"]
    with pytest.raises(ClientError) as caught:
        standin.client.send_text_message(DestinationPhoneNumber="+819012345699", MessageBody="hi")
    assert code_of(caught.value) == ("ConflictException", "DESTINATION_PHONE_NUMBER_OPTED_OUT")
    with pytest.raises(ChannelOptedOutError, match="opted out"):
        SmsVoiceSms(standin.client, "sodate-sms").send("+819012345699", "hi")
    with pytest.raises(ClientError) as unknown:
        standin.client.describe_opted_out_numbers(OptOutListName="Other")
    assert code_of(unknown.value)[0] == "ResourceNotFoundException"
    assert standin.account.texts == []


def test_over_the_rate_the_text_is_throttled_and_nothing_is_kept(standin: Standin) -> None:
    standin.account.rate_per_s = 1
    gateway = SmsVoiceSms(standin.client, "sodate-sms")
    gateway.send("+14254147755", "one")
    with pytest.raises(ChannelThrottledError):
        gateway.send("+14254147755", "two")
    assert [t["MessageBody"] for t in standin.account.texts] == ["one"]


@pytest.mark.parametrize(
    ("body", "reason", "field"),
    [
        (
            {"DestinationPhoneNumber": "09012345678", "MessageBody": "hi"},
            "FIELD_VALIDATION_FAILED",
            "DestinationPhoneNumber",
        ),
        ({"MessageBody": "hi"}, "MISSING_PARAMETER", "DestinationPhoneNumber"),
        ({"DestinationPhoneNumber": "+14254147755"}, "MISSING_PARAMETER", "MessageBody"),
        (
            {"DestinationPhoneNumber": "+14254147755", "MessageBody": "   "},
            "FIELD_VALIDATION_FAILED",
            "MessageBody",
        ),
        (
            {"DestinationPhoneNumber": "+14254147755", "MessageBody": "x" * 1601},
            "FIELD_VALIDATION_FAILED",
            "MessageBody",
        ),
        (
            {"DestinationPhoneNumber": "+14254147755", "MessageBody": "hi", "MessageType": "MARKETING"},
            "FIELD_VALIDATION_FAILED",
            "MessageType",
        ),
        (
            {
                "DestinationPhoneNumber": "+14254147755",
                "MessageBody": "hi",
                "OriginationIdentity": "Sodate shop",
            },
            "FIELD_VALIDATION_FAILED",
            "OriginationIdentity",
        ),
        (
            {"DestinationPhoneNumber": "+14254147755", "MessageBody": "hi", "Context": {"a b": "c"}},
            "FIELD_VALIDATION_FAILED",
            "Context.key",
        ),
    ],
)
def test_a_text_that_breaks_the_api_definition_is_refused_naming_the_field(
    standin: Standin, body: dict[str, Any], reason: str, field: str
) -> None:
    status, answer = standin.raw("PinpointSMSVoiceV2.SendTextMessage", json.dumps(body).encode())
    assert status == 400 and answer["__type"] == "ValidationException" and answer["Reason"] == reason
    assert field in [f["Name"] for f in answer["Fields"]]
    assert standin.account.texts == []


def test_the_gateway_names_the_reason_of_a_validation_failure(standin: Standin) -> None:
    with pytest.raises(ChannelRejectedError, match="FIELD_VALIDATION_FAILED"):
        SmsVoiceSms(standin.client, "sodate-sms").send(
            "+0", "hi"
        )  # botocore leaves the pattern to the service
    with pytest.raises(ParamValidationError):  # and checks the lengths itself
        standin.client.send_text_message(DestinationPhoneNumber="+14254147755", MessageBody="")


def test_configuration_sets_and_destinations_answer_as_the_reference_says(standin: Standin) -> None:
    (found,) = standin.client.describe_configuration_sets(ConfigurationSetNames=["sodate-sms"])[
        "ConfigurationSets"
    ]
    assert (
        found["ConfigurationSetArn"]
        == "arn:aws:sms-voice:us-east-1:123456789012:configuration-set/sodate-sms"
    )
    assert found["EventDestinations"][0]["SnsDestination"] == {"TopicArn": TOPIC}
    with pytest.raises(ClientError) as again:
        standin.client.create_configuration_set(ConfigurationSetName="sodate-sms")
    assert code_of(again.value) == ("ConflictException", "RESOURCE_ALREADY_EXISTS")
    with pytest.raises(ClientError) as sent:
        standin.client.create_event_destination(
            ConfigurationSetName=found["ConfigurationSetArn"],
            EventDestinationName="sent",
            MatchingEventTypes=["TEXT_SENT"],
            SnsDestination={"TopicArn": TOPIC},
        )
    assert code_of(sent.value)[0] == "ValidationException"  # "The TEXT_SENT event type is not supported."
    status, answer = standin.raw("PinpointSMSVoiceV2.DeleteConfigurationSet", b"{}")
    assert status == 400 and answer["__type"] == "UnknownOperationException"
