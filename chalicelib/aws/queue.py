"""Messages Sodate sends itself through the work queue: 'carry on where this run stopped'."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.domain.queue_messages import continuation, date_pass, reevaluation, sweep_erased


class WorkQueue:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._url = queue_url

    def continue_import(self, import_id: str) -> None:
        self._sqs.send_message(QueueUrl=self._url, MessageBody=continuation(import_id))

    def reevaluate(self, stamp: str, start: dict[str, Any] | None = None) -> None:
        self._sqs.send_message(QueueUrl=self._url, MessageBody=reevaluation(stamp, start))

    def date_pass(self, day: str, start: dict[str, Any]) -> None:
        self._sqs.send_message(QueueUrl=self._url, MessageBody=date_pass(day, start))

    def sweep_erased(self, contact_id: str, after_s: int) -> None:
        self._sqs.send_message(QueueUrl=self._url, MessageBody=sweep_erased(contact_id), DelaySeconds=after_s)


class DeadLetters:
    """Where records that no retry can fix go, with the reason, for an operator to look at."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._url = queue_url

    def park(self, handler: str, payload: dict[str, Any], error: str) -> None:
        body = {"type": "sodate.parked", "handler": handler, "error": error[:2000], "payload": payload}
        self._sqs.send_message(QueueUrl=self._url, MessageBody=json.dumps(body, default=str)[:250_000])
