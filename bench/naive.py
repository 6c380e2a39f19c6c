"""The baseline a hurried engineer writes: csv.DictReader + boto3's batch_writer().

It reads nothing before writing, so it is a blind overwrite: a re-import
erases fields, gives people new ids and re-subscribes opt-outs, and nobody
learns which rows were bad.  It is here as the floor to compare with."""

from __future__ import annotations

import csv
import time
import uuid
from pathlib import Path
from typing import Any


def create_table(dynamodb: Any, name: str, like: str) -> Any:
    """A table shaped like ours (keys, GSI, stream), so both pay the same per-item cost."""
    shape = dynamodb.meta.client.describe_table(TableName=like)["Table"]
    table = dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=shape["AttributeDefinitions"],
        KeySchema=shape["KeySchema"],
        GlobalSecondaryIndexes=[
            {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
            for i in shape.get("GlobalSecondaryIndexes", [])
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    table.wait_until_exists()
    return table


def naive_import(table: Any, path: Path) -> tuple[int, float]:
    started = time.perf_counter()
    rows = 0
    with (
        path.open(encoding="utf-8", newline="") as f,
        table.batch_writer(overwrite_by_pkeys=["email"]) as batch,
    ):
        for row in csv.DictReader(f):
            email = (row.pop("メールアドレス") or "").strip().lower()
            if "@" not in email:
                continue
            fields = {k: v for k, v in row.items() if v}
            batch.put_item(Item={"email": email, "contact_id": uuid.uuid4().hex, **fields})
            rows += 1
    return rows, time.perf_counter() - started
