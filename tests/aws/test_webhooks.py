"""Scenario webhooks through the real handlers, moto behind them and a real receiver on loopback:
every call signed with the key in Secrets Manager, a failing receiver tried again after 1, 5, 30,
120 and 720 minutes (never a second early), then given up; a success is noted and never repeated."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from typing import Any

import pytest

from chalicelib import bootstrap, clock
from tests.aws.test_api import drop_and_import
from tests.aws.test_identity import contact_by_email, timeline
from tests.aws.test_scenarios import buyers_csv, report, step, tick
from tests.aws.test_scoring_segments import put_definition

RETRY_MINUTES = (1, 5, 30, 120, 720)  # what the README promises
HANG_UP = 0  # a scripted answer: take the request, then close the connection without a word


@dataclass(frozen=True)
class Call:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    signed_at: int  # the signature's t=
    signature_ok: bool
    received_at: float  # Sodate's clock when the call came in


class Receiver:
    """A CRM's endpoint on 127.0.0.1 that checks each call's signature with the webhook key and
    answers with the scripted statuses, one per call (the last one repeats)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.answers: list[int] = [200]
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/sodate"

    def take(self, path: str, headers: dict[str, str], raw: bytes) -> int:
        fields = dict(
            part.split("=", 1) for part in headers.get("X-Sodate-Signature", "").split(",") if "=" in part
        )
        expected = hmac.new(self.key.encode(), fields.get("t", "").encode() + b"." + raw, hashlib.sha256)
        signature_ok = hmac.compare_digest(expected.hexdigest(), fields.get("v1", ""))
        with self._lock:
            call = Call(path, headers, json.loads(raw), int(fields.get("t", 0)), signature_ok, clock.now())
            self.calls.append(call)
            answer = self.answers[min(len(self.calls), len(self.answers)) - 1]
        return answer if signature_ok else 401

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = receiver.take(self.path, dict(self.headers.items()), raw)
            if status == HANG_UP:
                self.close_connection = True
                return
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def local_stage(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The local stage, where Sodate may call loopback addresses (on AWS it refuses them)."""
    monkeypatch.setenv("SODATE_STAGE", "local")
    bootstrap.reset()  # the settings are read again


@pytest.fixture
def aws_stage(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The stage on AWS (the default), whatever the shell running the tests says."""
    monkeypatch.delenv("SODATE_STAGE", raising=False)
    bootstrap.reset()


@pytest.fixture
def receiver(aws: dict[str, Any]) -> Iterator[Receiver]:
    """A CRM's endpoint on loopback; it knows the webhook key from Secrets Manager."""
    secrets = aws["session"].client("secretsmanager")
    key = secrets.get_secret_value(SecretId=aws["WebhookSigningKeySecret"])["SecretString"]
    found = Receiver(key)
    yield found
    found.close()


@pytest.fixture
def crm(local_stage: None, shop: None, receiver: Receiver) -> Receiver:
    """The receiver, on the local stage (which may call it), with the shipped examples in force."""
    return receiver


def tell_the_crm(api, aws, url: str) -> None:
    """A scenario whose one step posts each first-time buyer to the CRM."""
    scenarios = (
        "timezone: Asia/Tokyo\nscenarios:\n  - name: crm_sync\n    entry: {segment: first_time_buyers}\n"
        f'    steps:\n      - {{id: tell_crm, webhook: {{url: "{url}"}}}}\n'
    )
    answer = put_definition(api, aws, "scenarios", scenarios)
    assert answer.status_code == 200, answer.body


def buyer_enters(aws, api, streams, address: str) -> str:
    """Someone's first purchase is imported: they join first_time_buyers and enter crm_sync."""
    assert drop_and_import(aws, api, "buyers.csv", buyers_csv(address))["created"] == 1
    streams()
    return str(contact_by_email(api, aws, address)["contact_id"])


def ledger(contact_id: str) -> dict[str, str]:
    return bootstrap.journey_store().action(contact_id, f"{contact_id}#crm_sync#tell_crm#1") or {}


def wait_and_tick(api, aws, seconds: float) -> int:
    """Move Sodate's clock on, run the tick; how many tasks (webhook calls) it ran."""
    clock.travel(seconds)
    return int(tick(api, aws)["tasks"])


# --- the call ---------------------------------------------------------------------------------------
def test_a_webhook_posts_the_person_signed_with_the_key_in_secrets_manager(crm, aws, api, streams):
    # GIVEN a CRM that takes every call, and a first-time buyer entering the scenario
    tell_the_crm(api, aws, crm.url)
    contact_id = buyer_enters(aws, api, streams, "aiko@example.com")

    # WHEN the tick walks her
    tick(api, aws)

    # THEN the CRM got one POST it can trust: signed now, with the key it holds
    (call,) = crm.calls
    assert call.path == "/hooks/sodate"
    assert call.signature_ok, "the X-Sodate-Signature does not verify with the webhook key"
    assert abs(call.signed_at - call.received_at) < 5  # fresh: a receiver may refuse old stamps
    assert call.headers["Content-Type"] == "application/json"
    assert call.body["type"] == "sodate.scenario.webhook"
    assert (call.body["scenario"], call.body["step"]) == ("crm_sync", "tell_crm")
    assert call.body["contact"] == {"contact_id": contact_id, "email": "aiko@example.com"}
    assert ledger(contact_id)["status"] == "delivered"
    assert "scenario_webhook" in {e["kind"] for e in timeline(api, aws, contact_id)}
    assert step(report(api, aws, "crm_sync"), "tell_crm")["webhook"] == 1

    # AND a day of ticks later it was called once only
    for _ in range(3):
        wait_and_tick(api, aws, 8 * 3600)
    assert len(crm.calls) == 1


def test_a_signature_made_with_another_key_does_not_verify(crm, aws, api, streams):
    # GIVEN a receiver holding a key other than the one in Secrets Manager
    crm.key = "not-the-webhook-key"
    tell_the_crm(api, aws, crm.url)
    contact_id = buyer_enters(aws, api, streams, "aiko@example.com")

    # WHEN the webhook is called
    tick(api, aws)

    # THEN the receiver cannot verify it, refuses it, and Sodate does not count it as delivered
    (call,) = crm.calls
    assert not call.signature_ok
    assert ledger(contact_id)["status"] != "delivered"


# --- retries --------------------------------------------------------------------------------------
def test_a_webhook_that_fails_three_times_is_delivered_on_the_fourth_try_and_never_again(
    crm, aws, api, streams
):
    # GIVEN a CRM that hangs up, then answers 500 and 503, then 200
    crm.answers = [HANG_UP, 500, 503, 200]
    tell_the_crm(api, aws, crm.url)
    contact_id = buyer_enters(aws, api, streams, "aiko@example.com")

    # WHEN the tick runs: the first call fails
    tick(api, aws)
    assert len(crm.calls) == 1 and ledger(contact_id)["status"] != "delivered"

    # THEN 59 s later nothing is sent; 61 s after the failure it is tried again
    assert wait_and_tick(api, aws, 59) == 0 and len(crm.calls) == 1
    assert wait_and_tick(api, aws, 2) == 1 and len(crm.calls) == 2
    # AND then after 5 and 30 minutes, the last time successfully
    for minutes in (5, 30):
        wait_and_tick(api, aws, minutes * 60 + 1)
    assert len(crm.calls) == 4
    assert ledger(contact_id)["status"] == "delivered"
    assert all(c.signature_ok for c in crm.calls)
    assert len({c.body["id"] for c in crm.calls}) == 1  # the same delivery id: the CRM can deduplicate
    assert {c.body["contact"]["email"] for c in crm.calls} == {"aiko@example.com"}

    # AND it is not called again, even half a day on
    assert wait_and_tick(api, aws, 720 * 60 + 1) == 0
    assert len(crm.calls) == 4


def test_a_failing_webhook_is_retried_after_1_5_30_120_and_720_minutes_then_given_up(crm, aws, api, streams):
    # GIVEN a CRM that answers 500 to everything, and a buyer entering the scenario
    crm.answers = [500]
    tell_the_crm(api, aws, crm.url)
    contact_id = buyer_enters(aws, api, streams, "aiko@example.com")
    tick(api, aws)
    assert len(crm.calls) == 1

    for tries, minutes in enumerate(RETRY_MINUTES, start=2):
        # WHEN the clock reaches one second before the retry is due: nothing is sent
        assert wait_and_tick(api, aws, minutes * 60 - 1) == 0
        assert len(crm.calls) == tries - 1, f"retried before {minutes} minutes"
        assert ledger(contact_id)["status"] != "failed"
        # THEN two seconds later it is
        assert wait_and_tick(api, aws, 2) == 1
        assert len(crm.calls) == tries, f"not retried after {minutes} minutes"

    # AND the gaps between the signed calls are the schedule's
    gaps = [later.signed_at - earlier.signed_at for earlier, later in pairwise(crm.calls)]
    assert [round(gap / 60) for gap in gaps] == list(RETRY_MINUTES), gaps
    assert all(
        minutes * 60 <= gap <= minutes * 60 + 5 for gap, minutes in zip(gaps, RETRY_MINUTES, strict=True)
    )
    assert all(c.signature_ok for c in crm.calls)

    # AND after the last one it is given up: failed in the ledger, and never called again
    answer = ledger(contact_id)
    assert (answer["status"], answer["last_status"]) == ("failed", "500")
    for _ in range(3):
        assert wait_and_tick(api, aws, 86400) == 0
    assert len(crm.calls) == 1 + len(RETRY_MINUTES)


# --- where it may call ----------------------------------------------------------------------------
def test_on_aws_a_webhook_to_a_loopback_address_is_never_called_and_is_given_up(
    aws_stage, aws, api, streams, shop, receiver
):
    # GIVEN the AWS stage (the default) and a scenario whose webhook names 127.0.0.1
    tell_the_crm(api, aws, receiver.url)
    contact_id = buyer_enters(aws, api, streams, "aiko@example.com")

    # WHEN the tick runs, and every retry falls due
    tick(api, aws)
    for minutes in RETRY_MINUTES:
        assert wait_and_tick(api, aws, minutes * 60 + 1) == 1

    # THEN nothing ever reached the address, and the webhook is given up
    assert receiver.calls == []
    answer = ledger(contact_id)
    assert (answer["status"], answer["last_status"]) == ("failed", "0")
