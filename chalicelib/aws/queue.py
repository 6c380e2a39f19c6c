"""Messages the importer sends itself: 'carry on with this import'."""

from __future__ import annotations

import json
from typing import Any

CONTINUE_IMPORT = "sodate.continue-import"  # parsed by services.import_messages


class ImportQueue:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._url = queue_url

    def continue_import(self, import_id: str) -> None:
        body = json.dumps({"type": CONTINUE_IMPORT, "import_id": import_id})
        self._sqs.send_message(QueueUrl=self._url, MessageBody=body)
