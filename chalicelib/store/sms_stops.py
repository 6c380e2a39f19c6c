"""The numbers that replied STOP, in the events table: one item a number, under its hash (the
number itself is not kept as a key), with when and which reply."""

from __future__ import annotations

import hashlib
from typing import Any


class DynamoSmsStops:
    def __init__(self, dynamodb: Any, events_table: str) -> None:
        self._db = dynamodb
        self._table = events_table

    def stop(self, number: str, at: str, message_id: str) -> None:
        item = {**self._key(number), "at": {"S": at}, "reply": {"S": message_id or "-"}}
        self._db.put_item(TableName=self._table, Item=item)

    def stopped(self, number: str) -> bool:
        answer = self._db.get_item(TableName=self._table, Key=self._key(number), ConsistentRead=True)
        return "Item" in answer

    @staticmethod
    def _key(number: str) -> dict[str, dict[str, str]]:
        digest = hashlib.sha256(number.encode()).hexdigest()
        return {"pk": {"S": f"sms-stop#{digest}"}, "sk": {"S": "*"}}
