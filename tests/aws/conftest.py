"""moto in-process, with the resources created from infra/template.yaml."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from chalicelib import bootstrap
from chalicelib.store.events import _LINK_CACHE, _SITE_CACHE, ALL_SITES
from chalicelib.store.models import ALL_MODELS
from devstack import atomic_writes
from devstack.cloudformation import LocalStack
from devstack.sms_voice_standin import serve as serve_sms_voice

PUBLIC_URL = "https://mail.example.test/api"
CONSOLE_PASSWORD = "Correct-horse-9-battery"


def _reset_caches() -> None:
    bootstrap.reset()
    _SITE_CACHE.clear()
    _LINK_CACHE.clear()
    ALL_SITES.clear()
    for model in ALL_MODELS:
        model._connection = None


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    atomic_writes.serialise()  # DynamoDB's requests are atomic; moto's in-process backend is not
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        sns = session.client("sns")  # End User Messaging SMS's events go to the emulator's topic
        sms_url, texts, stop_sms = serve_sms_voice(
            0, None, lambda topic, message: sns.publish(TopicArn=topic, Message=message), delay_s=0.0
        )
        sms_voice = session.client("pinpoint-sms-voice-v2", endpoint_url=sms_url)
        outputs = LocalStack(session, "sodate", sms_voice=sms_voice).deploy({"Prefix": "sodate"})
        env = {
            "SODATE_CONTACTS_TABLE": outputs["ContactsTable"],
            "SODATE_IMPORTS_TABLE": outputs["ImportsTable"],
            "SODATE_SUPPRESSIONS_TABLE": outputs["SuppressionsTable"],
            "SODATE_SITES_TABLE": outputs["SitesTable"],
            "SODATE_EVENTS_TABLE": outputs["EventsTable"],
            "SODATE_BUCKET": outputs["Bucket"],
            "SODATE_IMPORT_QUEUE_URL": outputs["ImportQueueUrl"],
            "SODATE_ADMIN_TOKEN_SECRET": outputs["AdminTokenSecret"],
            "SODATE_LINK_KEY_SECRET": outputs["LinkSigningKeySecret"],
            "SODATE_DEFINITIONS_TABLE": outputs["DefinitionsTable"],
            "SODATE_SEGMENTS_TABLE": outputs["SegmentsTable"],
            "SODATE_SALES_ALERTS_TOPIC": outputs["SalesAlertsTopicArn"],
            "SODATE_SENDER": outputs["SenderAddress"],
            "SODATE_DEAD_LETTER_QUEUE_URL": outputs["ImportDeadLetterQueueUrl"],
            "SODATE_JOURNEYS_TABLE": outputs["JourneysTable"],
            "SODATE_CONFIGURATION_SET": outputs["MailConfigurationSet"],
            "SODATE_FEEDBACK_QUEUE": outputs["MailFeedbackQueueName"],
            "SODATE_WEBHOOK_KEY_SECRET": outputs["WebhookSigningKeySecret"],
            "SODATE_CONSOLE_TABLE": outputs["ConsoleTable"],
            "SODATE_PEOPLE_INDEX_TABLE": outputs["PeopleIndexTable"],
            "SODATE_USER_POOL_ID": outputs["UserPoolId"],
            "SODATE_USER_POOL_CLIENT_ID": outputs["UserPoolClientId"],
            "SODATE_PUBLIC_URL": PUBLIC_URL,
            "SODATE_LINE_CHANNEL_SECRET": outputs["LineChannelSecret"],
            "SODATE_SMS_CONFIGURATION_SET": outputs["SmsConfigurationSet"],
            "SODATE_SMS_VOICE_URL": sms_url,
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        _reset_caches()
        token = session.client("secretsmanager").get_secret_value(SecretId=outputs["AdminTokenSecret"])
        try:
            yield {**outputs, "token": token["SecretString"], "session": session, "texts": texts}
        finally:
            stop_sms()
            _reset_caches()


def queued_bodies(sqs: Any, queue_url: str) -> list[str]:
    """Take every message waiting on a queue (what the event source mapping would take)."""
    bodies = []
    while True:
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        messages = answer.get("Messages", [])
        if not messages:
            return bodies
        for m in messages:
            bodies.append(m["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])


def results(s3: Any, bucket: str, name: str) -> dict[str, Any]:
    body = s3.get_object(Bucket=bucket, Key=f"results/{name}.json")["Body"].read()
    return json.loads(body)


@pytest.fixture
def api(aws: dict[str, Any]) -> Iterator[Any]:
    """chalice's test client over the app, with moto behind it."""
    from chalice.test import Client

    import app as sodate

    with Client(sodate.app) as client:
        yield client


@pytest.fixture
def site(aws: dict[str, Any], api: Any) -> dict[str, Any]:
    """A registered site for shop.example.jp (with its secret, shown once)."""
    answer = api.http.post(
        "/admin/sites",
        body=json.dumps({"name": "Shop", "domains": ["shop.example.jp"]}),
        headers={"Authorization": f"Bearer {aws['token']}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 201
    body: dict[str, Any] = answer.json_body
    return body


@pytest.fixture
def streams(aws: dict[str, Any], api: Any) -> Any:
    """Both DynamoDB streams feeding their handlers, as Lambda's mappings would; call it to drain.
    Every batch handed over is kept (`drain.batches`: handler and event), to hand over again."""
    import app as sodate
    from devstack.pump import StreamPump

    batches: list[tuple[Any, dict[str, Any]]] = []

    def keeping(handler: Any) -> Any:
        def handle(event: dict[str, Any], context: Any) -> Any:
            batches.append((handler, json.loads(json.dumps(event, default=str))))
            return handler(event, context)

        return handle

    # moto in-process knows the regional endpoint, not the account-based one botocore picks for an ARN.
    client_ = aws["session"].client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
    pumps = [
        StreamPump(client_, aws["EventsStreamArn"], keeping(sodate.events_changed), "events_changed"),
        StreamPump(client_, aws["ContactsStreamArn"], keeping(sodate.contacts_changed), "contacts_changed"),
    ]

    def drain(rounds: int = 50) -> None:
        for _ in range(rounds):
            delivered = sum(p.pump_once() for p in pumps)
            errors = [e for p in pumps for e in p.errors]
            assert not errors, f"a stream handler failed: {errors!r}"
            if delivered == 0:
                return
        raise AssertionError("the streams kept producing records")

    drain.batches = batches  # type: ignore[attr-defined]
    return drain


def sent_mail() -> list[dict[str, Any]]:
    """What the emulator's SES has accepted for delivery."""
    from moto.ses.models import ses_backends

    return [
        {"source": m.source, "to": m.destinations["ToAddresses"], "subject": m.subject, "body": m.body}
        for m in ses_backends["123456789012"]["us-east-1"].sent_messages
    ]


@pytest.fixture
def shop(aws: dict[str, Any], api: Any, streams: Any, site: dict[str, Any]) -> Iterator[None]:
    """The shipped example definitions in force, the shop's site (its pages are where the mails
    link) registered, and the clock at 10:00 in Tokyo (scenario tests)."""
    from chalicelib import clock
    from tests.aws.test_scenarios import to_tokyo_hour
    from tests.aws.test_scoring_segments import load_examples

    clock.reset()
    load_examples(aws, api)
    to_tokyo_hour(10)
    yield
    clock.reset()


@pytest.fixture
def people(aws: dict[str, Any]) -> dict[str, str]:
    """One user per role, and one in no group at all (passwords already their own)."""
    cognito = aws["session"].client("cognito-idp")
    made = {}
    for role in ("admin", "marketer", "analyst", "nobody"):
        email = f"{role}@shop.example.jp"
        cognito.admin_create_user(UserPoolId=aws["UserPoolId"], Username=email, MessageAction="SUPPRESS")
        cognito.admin_set_user_password(
            UserPoolId=aws["UserPoolId"], Username=email, Password=CONSOLE_PASSWORD, Permanent=True
        )
        if role != "nobody":
            cognito.admin_add_user_to_group(UserPoolId=aws["UserPoolId"], Username=email, GroupName=role)
        made[role] = email
    from chalicelib import clock

    clock.reset()
    yield made
    clock.reset()
