"""Definition versions and population figures (the definitions table).

pk `kind`, sk `v000001`... for every accepted version (kept), and sk `active`
for the one in force; `population` holds figures such as RFM boundaries.
Activation is conditional on the version it replaces, so two drops at once
cannot both win.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.domain.definitions.versions import StaleVersionError, Version
from chalicelib.store.dynamo import batch_get

ACTIVE = "active"


class DefinitionStore:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._db = dynamodb
        self._table = table

    def active(self, kinds: tuple[str, ...]) -> dict[str, Version]:
        keys = [{"kind": {"S": k}, "version": {"S": ACTIVE}} for k in kinds]
        found = batch_get(self._db, {self._table: {"Keys": keys, "ConsistentRead": True}})
        return {item["kind"]["S"]: _version(item) for item in found.get(self._table, [])}

    def activate(self, kind: str, text: str, file: str, at: str, replacing: int) -> int:
        """Keep the new version and make it active; StaleVersionError if another won meanwhile."""
        number = replacing + 1
        item = {
            "kind": {"S": kind},
            "number": {"N": str(number)},
            "text": {"S": text},
            "file": {"S": file},
            "at": {"S": at},
        }
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {**item, "version": {"S": f"v{number:06d}"}},
                            "ConditionExpression": "attribute_not_exists(kind)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {**item, "version": {"S": ACTIVE}},
                            "ConditionExpression": "attribute_not_exists(kind) OR #n = :replacing",
                            "ExpressionAttributeNames": {"#n": "number"},
                            "ExpressionAttributeValues": {":replacing": {"N": str(replacing)}},
                        }
                    },
                ]
            )
        except self._db.exceptions.TransactionCanceledException:
            raise StaleVersionError(kind) from None
        return number

    def versions(self, kind: str, limit: int = 50) -> list[Version]:
        answer = self._db.query(
            TableName=self._table,
            KeyConditionExpression="kind = :k AND begins_with(version, :v)",
            ExpressionAttributeValues={":k": {"S": kind}, ":v": {"S": "v"}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_version(item) for item in answer.get("Items", [])]

    def population(self, name: str) -> dict[str, Any] | None:
        item = self._db.get_item(
            TableName=self._table, Key={"kind": {"S": "population"}, "version": {"S": name}}
        ).get("Item")
        return json.loads(item["data"]["S"]) if item else None

    def put_population(self, name: str, data: dict[str, Any]) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={"kind": {"S": "population"}, "version": {"S": name}, "data": {"S": json.dumps(data)}},
        )


def _version(item: dict[str, Any]) -> Version:
    return Version(
        item["kind"]["S"], int(item["number"]["N"]), item["text"]["S"], item["file"]["S"], item["at"]["S"]
    )
