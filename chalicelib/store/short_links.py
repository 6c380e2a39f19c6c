"""Texts' short codes in the journeys table: one item a code (pk `s#<code>`), holding the click
token it stands for, the link's source (domain/short_links.py) and `expires_at`, DynamoDB's TTL
attribute on the table -- gone some time after the token expired, and read as gone from then."""

from __future__ import annotations

from typing import Any


class DynamoShortLinks:
    def __init__(self, dynamodb: Any, journeys_table: str) -> None:
        self._db = dynamodb
        self._table = journeys_table

    def keep(self, code: str, token: str, source: str, expires_at: int) -> bool:
        item = {
            **_key(code),
            "token": {"S": token},
            "source": {"S": source},
            "expires_at": {"N": str(expires_at)},
        }
        try:
            self._db.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR #source = :source",
                ExpressionAttributeNames={"#source": "source"},
                ExpressionAttributeValues={":source": {"S": source}},
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def find(self, code: str, now: float) -> str | None:
        # Consistent: a click may come seconds after the text was sent.
        item = self._db.get_item(TableName=self._table, Key=_key(code), ConsistentRead=True).get("Item")
        if not item or int(item["expires_at"]["N"]) <= now:  # TTL deletes late: expired is gone
            return None
        return str(item["token"]["S"])


def _key(code: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"s#{code}"}, "sk": {"S": "link"}}
