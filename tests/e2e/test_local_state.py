"""The local state's queues, read and put back through the emulator `make run` starts: a message
waiting out its delay is kept and still waits after the restart, and taking a dump hides no
message from the pumps and counts no receive against it (five receives send it to the DLQ)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from devstack.emulator import Emulator, free_port
from devstack.state import LocalState, Resources


class Emulated:
    """One run of the emulator with a work queue and its dead-letter queue, as the template has."""

    def __init__(self, local: Path) -> None:
        self.emulator = Emulator(free_port(), local / "moto.log")
        self.emulator.start()
        session = boto3.session.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
        )
        self.sqs = session.client("sqs", endpoint_url=self.emulator.endpoint)
        self.parked = self.sqs.create_queue(QueueName="work-dlq")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.parked, AttributeNames=["QueueArn"])
        policy = {"deadLetterTargetArn": arn["Attributes"]["QueueArn"], "maxReceiveCount": 5}
        self.work = self.sqs.create_queue(
            QueueName="work", Attributes={"RedrivePolicy": json.dumps(policy), "VisibilityTimeout": "960"}
        )["QueueUrl"]
        resources = Resources(queues={"Work": self.work, "Parked": self.parked})
        self.state = LocalState(_Endpoint(session, self.emulator.endpoint), resources, local)

    def bodies(self, url: str, wait: int = 0) -> list[str]:
        got = self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait, AttributeNames=["All"]
        )
        return [m["Body"] for m in got.get("Messages", [])]


class _Endpoint:
    """The session `make run` has, whose clients answer at the emulator (AWS_ENDPOINT_URL)."""

    def __init__(self, session: Any, endpoint: str) -> None:
        self._session, self._endpoint = session, endpoint

    def client(self, name: str) -> Any:
        return self._session.client(name, endpoint_url=self._endpoint)


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[list[Emulated]]:
    started: list[Emulated] = []
    yield started
    for run in started:
        run.emulator.stop()


def test_a_delayed_message_outlives_a_restart_and_still_waits_its_time(
    tmp_path: Path, runs: list[Emulated]
) -> None:
    # GIVEN a message sent to wait 8 s before anyone sees it (as an erasure's second sweep waits 5 min)
    runs.append(first := Emulated(tmp_path))
    first.sqs.send_message(QueueUrl=first.work, MessageBody='{"type": "sweep"}', DelaySeconds=8)
    sent = time.monotonic()

    # WHEN the stack stops within the delay and starts again
    first.state.save(0.0)
    first.emulator.stop()
    runs.append(again := Emulated(tmp_path))
    again.state.restore(contextlib.nullcontext, "")

    # THEN it is not there before its time, and is delivered once its time comes
    assert time.monotonic() - sent < 6, "the restart took too long to see the message still waiting"
    assert again.bodies(again.work) == []
    deadline = time.monotonic() + 15
    got: list[str] = []
    while not got and time.monotonic() < deadline:
        got = again.bodies(again.work, wait=1)
    assert got == ['{"type": "sweep"}']
    assert time.monotonic() - sent >= 7.5, "not delivered before the delay it was sent with"


def test_saving_neither_hides_a_waiting_message_nor_counts_a_receive(
    tmp_path: Path, runs: list[Emulated]
) -> None:
    # GIVEN a message waiting on a queue that parks a message after 5 receives
    runs.append(run := Emulated(tmp_path))
    run.sqs.send_message(QueueUrl=run.work, MessageBody="waiting")

    # WHEN the stack saves its state six times (an autosave every few minutes)
    for _ in range(6):
        run.state.save(0.0)

    # THEN the pump gets it at once, as its first receive, and nothing was parked
    got = run.sqs.receive_message(QueueUrl=run.work, AttributeNames=["All"]).get("Messages", [])
    assert [m["Body"] for m in got] == ["waiting"], "the message is hidden from the pump after a save"
    assert got[0]["Attributes"]["ApproximateReceiveCount"] == "1"
    assert run.bodies(run.parked) == []


def test_a_message_being_handled_when_the_stack_stops_is_handed_over_again_once(
    tmp_path: Path, runs: list[Emulated]
) -> None:
    # GIVEN a message a pump has taken and not finished, and one parked in the DLQ
    runs.append(first := Emulated(tmp_path))
    first.sqs.send_message(QueueUrl=first.work, MessageBody="being handled")
    first.sqs.send_message(QueueUrl=first.parked, MessageBody="parked")
    assert first.bodies(first.work) == ["being handled"]

    # WHEN the stack stops and starts again
    first.state.save(0.0)
    first.emulator.stop()
    runs.append(again := Emulated(tmp_path))
    again.state.restore(contextlib.nullcontext, "")

    # THEN each is there once
    assert again.bodies(again.work) == ["being handled"]
    assert again.bodies(again.parked) == ["parked"]
    assert again.bodies(again.work) == again.bodies(again.parked) == []
