"""Definition versions and population figures (the definitions table).

pk `kind`, sk `v000001`... for every accepted version (kept), and sk `active`
for the one in force; `population` holds figures such as RFM boundaries.
Activation is conditional on the version it replaces, so two drops at once
cannot both win, and on the versions of the other kinds it was checked against,
so two drops of different kinds at once cannot leave a set that does not compile.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.domain.definitions.versions import StaleVersionError, Version
from chalicelib.store.dynamo import batch_get, transact

ACTIVE = "active"


class DefinitionStore:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._db = dynamodb
        self._table = table

    def active(self, kinds: tuple[str, ...]) -> dict[str, Version]:
        keys = [{"kind": {"S": k}, "version": {"S": ACTIVE}} for k in kinds]
        found = batch_get(self._db, {self._table: {"Keys": keys, "ConsistentRead": True}})
        return {item["kind"]["S"]: _version(item) for item in found.get(self._table, [])}

    def activate(
        self, kind: str, text: str, file: str, at: str, replacing: int, against: dict[str, int]
    ) -> int:
        """Keep the new version and make it active, if `kind` is still at `replacing` and every
        kind in `against` still at the version it was checked against (0: none); otherwise
        StaleVersionError naming the kind that moved (the file's own kind first)."""
        number = replacing + 1
        item = {
            "kind": {"S": kind},
            "number": {"N": str(number)},
            "text": {"S": text},
            "file": {"S": file},
            "at": {"S": at},
        }
        writes = [
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
                    **_still_at(replacing),
                }
            },
        ]
        others = sorted(against.items())
        checks = [
            {
                "ConditionCheck": {
                    "TableName": self._table,
                    "Key": {"kind": {"S": other}, "version": {"S": ACTIVE}},
                    **_still_at(seen),
                }
            }
            for other, seen in others
        ]
        failed = transact(self._db, writes + checks)
        if failed:
            named = [kind, kind, *(other for other, _ in others)]
            raise StaleVersionError(named[min(failed)])
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


def _still_at(number: int) -> dict[str, Any]:
    """The condition that a kind's active version is still `number` (0: it has none)."""
    if not number:
        return {"ConditionExpression": "attribute_not_exists(kind)"}
    return {
        "ConditionExpression": "#n = :n",
        "ExpressionAttributeNames": {"#n": "number"},
        "ExpressionAttributeValues": {":n": {"N": str(number)}},
    }


def _version(item: dict[str, Any]) -> Version:
    return Version(
        item["kind"]["S"], int(item["number"]["N"]), item["text"]["S"], item["file"]["S"], item["at"]["S"]
    )
