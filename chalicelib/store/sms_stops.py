"""The numbers that replied STOP, in the events table: one item a number, under its hash (the
number itself is not kept as a key), with when and which reply.  And the people behind a
number: the people index's entries for it (domain/people_index.py), whose SMS permission a STOP
takes back in the contacts table."""

from __future__ import annotations

import hashlib
from typing import Any

from chalicelib.domain.contact import SMS_PERMISSION, WITHDRAWN
from chalicelib.domain.people_index import phone_partition
from chalicelib.store.contact_codec import COUNTED, COUNTED_NAMES, COUNTED_VALUES

PEOPLE_A_NUMBER = 100  # a family's or a shop's number is shared by a few; more is not one person's


class DynamoSmsStops:
    def __init__(self, dynamodb: Any, events_table: str, contacts_table: str, index_table: str) -> None:
        self._db = dynamodb
        self._table = events_table
        self._contacts = contacts_table
        self._index = index_table

    def stop(self, number: str, at: str, message_id: str) -> None:
        item = {**self._key(number), "at": {"S": at}, "reply": {"S": message_id or "-"}}
        self._db.put_item(TableName=self._table, Item=item)

    def stopped(self, number: str) -> bool:
        answer = self._db.get_item(TableName=self._table, Key=self._key(number), ConsistentRead=True)
        return "Item" in answer

    def texted_at(self, number: str) -> list[str]:
        answer = self._db.query(
            TableName=self._index,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": phone_partition(number)}},
            ProjectionExpression="sk",
            Limit=PEOPLE_A_NUMBER,
        )
        return [item["sk"]["S"] for item in answer.get("Items", [])]

    def withdraw(self, email: str, at: str) -> str | None:
        try:
            answer = self._db.update_item(
                TableName=self._contacts,
                Key={"email": {"S": email}},
                UpdateExpression=f"SET #p = :w, sms_changed_at = :at ADD {COUNTED}",
                ConditionExpression="attribute_exists(email) AND (attribute_not_exists(#p) OR #p <> :w)",
                ExpressionAttributeNames={"#p": SMS_PERMISSION, **COUNTED_NAMES},
                ExpressionAttributeValues={":w": {"S": WITHDRAWN}, ":at": {"S": at}, **COUNTED_VALUES},
                ReturnValues="ALL_NEW",
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return None
        return str(answer["Attributes"]["contact_id"]["S"])

    @staticmethod
    def _key(number: str) -> dict[str, dict[str, str]]:
        digest = hashlib.sha256(number.encode()).hexdigest()
        return {"pk": {"S": f"sms-stop#{digest}"}, "sk": {"S": "*"}}
