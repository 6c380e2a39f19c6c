"""People on LINE, in the events table (and their LINE attributes on the contacts table).

- a webhook event seen: pk `line-event#<webhookEventId>`, put only if absent, expiring (TTL);
- a LINE user: pk `line-user#<user id>` -- permission, the newest event's time, the linked contact;
  a change applies only if no newer event was applied (redeliveries come late and out of order);
- an account link under way: pk `line-nonce#<nonce>` -> the contact, taken (deleted and read in
  one call) by the accountLink event, so a nonce links once; expiring;
- a single-use token spent: pk `line-once#<nonce>`, expiring with the token.
None starts with `c#`, `v#` or `a#`, so the events stream hands none of them to evaluation.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.line_people import LINE_PERMISSION, LINE_USER_ID, LineUser
from chalicelib.store.contact_codec import COUNTED, COUNTED_NAMES, COUNTED_VALUES

USER, EVENT, NONCE, ONCE = "line-user#", "line-event#", "line-nonce#", "line-once#"
EVENT_MS = "line_permission_ms"  # on a contact: LINE's time of the event its permission is from


class DynamoLinePeople:
    def __init__(self, dynamodb: Any, events_table: str, contacts_table: str) -> None:
        self._db = dynamodb
        self._events = events_table
        self._contacts = contacts_table

    def first_delivery(self, event_id: str, expires_at: int) -> bool:
        return self._put_new(f"{EVENT}{event_id}", {"expires_at": {"N": str(expires_at)}})

    def forget_delivery(self, event_id: str) -> None:
        self._db.delete_item(TableName=self._events, Key=_key(f"{EVENT}{event_id}"))

    def spend(self, once: str, expires_at: int) -> bool:
        return self._put_new(f"{ONCE}{once}", {"expires_at": {"N": str(expires_at)}})

    def set_permission(self, user_id: str, permission: str, at_ms: int) -> LineUser | None:
        try:
            answer = self._db.update_item(
                TableName=self._events,
                Key=_key(f"{USER}{user_id}"),
                UpdateExpression="SET line_permission = :p, at_ms = :t",
                ConditionExpression="attribute_not_exists(at_ms) OR at_ms <= :t",
                ExpressionAttributeValues={":p": {"S": permission}, ":t": {"N": str(at_ms)}},
                ReturnValues="ALL_NEW",
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return None
        return _user(user_id, answer["Attributes"])

    def keep_nonce(self, nonce: str, contact_id: str, expires_at: int) -> None:
        fields = {"contact_id": {"S": contact_id}, "expires_at": {"N": str(expires_at)}}
        if not self._put_new(f"{NONCE}{nonce}", fields):
            raise ValueError("a nonce was issued twice")  # 192 random bits: never

    def take_nonce(self, nonce: str) -> tuple[str, int] | None:
        old = self._db.delete_item(
            TableName=self._events, Key=_key(f"{NONCE}{nonce}"), ReturnValues="ALL_OLD"
        )
        item = old.get("Attributes")
        return (item["contact_id"]["S"], int(item["expires_at"]["N"])) if item else None

    def link_user(self, user_id: str, contact_id: str) -> LineUser:
        answer = self._db.update_item(
            TableName=self._events,
            Key=_key(f"{USER}{user_id}"),
            UpdateExpression="SET contact_id = :c",
            ExpressionAttributeValues={":c": {"S": contact_id}},
            ReturnValues="ALL_OLD",
        )
        return _user(user_id, answer.get("Attributes", {}))

    def link_contact(self, email: str, user_id: str, permission: str | None, at: str, at_ms: int = 0) -> None:
        sets = {
            LINE_USER_ID: {"S": user_id},
            "line_changed_at": {"S": at},
            EVENT_MS: {"N": str(at_ms)},
            **({LINE_PERMISSION: {"S": permission}} if permission else {}),
        }
        self._db.update_item(
            TableName=self._contacts,
            Key={"email": {"S": email}},
            UpdateExpression="SET "
            + ", ".join(f"#{name} = :{name}" for name in sets)
            + ("" if permission else f" REMOVE #{LINE_PERMISSION}")
            + f" ADD {COUNTED}",
            ConditionExpression="attribute_exists(email)",
            ExpressionAttributeNames={f"#{name}": name for name in [*sets, LINE_PERMISSION]} | COUNTED_NAMES,
            ExpressionAttributeValues={f":{name}": value for name, value in sets.items()} | COUNTED_VALUES,
        )

    def unlink_contact(self, email: str, user_id: str) -> bool:
        return self._if_linked(email, user_id, f"REMOVE #u, #p, {EVENT_MS}", {}) is not None

    def contact_permission(
        self, email: str, user_id: str, permission: str, at: str, at_ms: int
    ) -> tuple[bool, str | None]:
        values = {":p": {"S": permission}, ":at": {"S": at}, ":ms": {"N": str(at_ms)}}
        update = f"SET #p = :p, line_changed_at = :at, {EVENT_MS} = :ms"
        newer = f" AND (attribute_not_exists({EVENT_MS}) OR {EVENT_MS} <= :ms)"
        old = self._if_linked(email, user_id, update, values, newer)
        return old is not None, (old or {}).get(LINE_PERMISSION, {}).get("S")

    def _if_linked(
        self, email: str, user_id: str, update: str, values: dict[str, Any], also: str = ""
    ) -> dict[str, Any] | None:
        """The contact as it was; None when the condition failed."""
        try:
            answer = self._db.update_item(
                TableName=self._contacts,
                Key={"email": {"S": email}},
                UpdateExpression=f"{update} ADD {COUNTED}",
                ConditionExpression="#u = :u" + also,
                ExpressionAttributeNames={"#u": LINE_USER_ID, "#p": LINE_PERMISSION, **COUNTED_NAMES},
                ExpressionAttributeValues={":u": {"S": user_id}, **values, **COUNTED_VALUES},
                ReturnValues="ALL_OLD",
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return None
        return dict(answer.get("Attributes") or {})

    def _put_new(self, pk: str, fields: dict[str, Any]) -> bool:
        try:
            self._db.put_item(
                TableName=self._events,
                Item={**_key(pk), **fields},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True


def _key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "line"}}


def _user(user_id: str, item: dict[str, Any]) -> LineUser:
    permission = item.get(LINE_PERMISSION, {}).get("S")
    at_ms = int(item.get("at_ms", {}).get("N", "0"))
    return LineUser(user_id, permission, at_ms, item.get("contact_id", {}).get("S", ""))
