"""Messages the importer sends itself: 'carry on with this import'."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.queue_messages import continuation, reevaluation


class ImportQueue:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._url = queue_url

    def continue_import(self, import_id: str) -> None:
        self._sqs.send_message(QueueUrl=self._url, MessageBody=continuation(import_id))

    def reevaluate(self, stamp: str, start: dict[str, Any] | None = None) -> None:
        self._sqs.send_message(QueueUrl=self._url, MessageBody=reevaluation(stamp, start))
