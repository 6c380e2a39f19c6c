"""What a unit of work costs on AWS: the calls each path makes, counted by the bench's stubs in
the same run, times the list prices in bench/aws_prices.json (with their date).

Lambda is billed per millisecond at its memory; its CPU share grows with memory (one vCPU at
1,769 MB), so a function's time is its measured CPU stretched by that share plus its round trips
to DynamoDB (aws_prices.json's assumptions), rounded up to the millisecond per invocation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

PRICES = Path(__file__).resolve().parent / "aws_prices.json"
FULL_VCPU_MB = 1769


def prices() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(PRICES.read_text())
    return loaded


def item_bytes(item: Mapping[str, Any]) -> int:
    """An item's size as DynamoDB counts it: names and values in UTF-8, numbers by their digits."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())


def _value_bytes(value: Mapping[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        digits = len(str(Decimal(str(inner))).lstrip("-").replace(".", ""))
        return math.ceil(digits / 2) + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_bytes(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(_value_bytes(v) + 1 for v in inner)
    if kind in ("SS", "NS", "BS"):
        return sum(_value_bytes({kind[0]: v}) for v in inner)
    raise ValueError(f"unknown DynamoDB type {kind}")


def write_units(item: Mapping[str, Any]) -> int:
    """Write request units for one item: one per started kilobyte."""
    return max(1, math.ceil(item_bytes(item) / 1024))


def lambda_usd(invocations: float, cpu_s: float, round_trips_ms: float, memory_mb: int) -> float:
    """Requests and GB-seconds of `invocations`, each with `cpu_s` of a full vCPU's CPU and
    `round_trips_ms` of waiting, billed by the started millisecond."""
    usd = prices()["usd"]
    stretched_ms = cpu_s * 1000 * max(1.0, FULL_VCPU_MB / memory_mb) + round_trips_ms
    billed_s = math.ceil(stretched_ms) / 1000
    gb_seconds = invocations * billed_s * memory_mb / 1024
    return float(
        invocations * usd["lambda_per_million_requests"] / 1e6 + gb_seconds * usd["lambda_per_gb_second"]
    )


def dynamodb_usd(write_units_: float, read_units: float) -> float:
    usd = prices()["usd"]
    return (
        float(
            write_units_ * usd["dynamodb_per_million_write_request_units"]
            + read_units * usd["dynamodb_per_million_read_request_units"]
        )
        / 1e6
    )


def page_views(
    views: float, cpu_us: float, writes_per_view: float, reads_per_view: float, entry: str = "function_url"
) -> dict[str, float]:
    """Page views of visitors not (yet) known: the beacon function (its entry point, requests,
    time), its writes and reads, and the events stream's invocations (Lambda reads streams free).
    Each hit item is under a kilobyte (tests/aws/test_beacons.py): one write unit."""
    usd, assume = prices()["usd"], prices()["assumptions"]
    single_ms = assume["dynamodb_call_ms"]["single"]
    beacon = lambda_usd(
        views,
        cpu_us / 1e6,
        (writes_per_view + reads_per_view) * single_ms,
        assume["lambda_memory_mb"]["beacon"],
    )
    per_request = {
        "function_url": usd["lambda_function_url_per_million_requests"],
        "rest": usd["api_gateway_rest_per_million_requests"],
        "http": usd["api_gateway_http_per_million_requests"],
    }[entry]
    stream = lambda_usd(
        views / assume["stream_batch_records"], 0.002, 0, assume["lambda_memory_mb"]["events_changed"]
    )
    parts = {
        "entry": views * per_request / 1e6,
        "beacon_lambda": beacon,
        "dynamodb": dynamodb_usd(views * writes_per_view, views * reads_per_view * 0.5),
        "events_stream": stream,
    }
    return parts | {"total": sum(parts.values())}


def imports(
    rows: float,
    cpu_s_per_row: float,
    write_units_per_row: float,
    read_keys_per_row: float,
    calls_per_row: float,
    index_entries_per_row: float,
    gauge_writes_per_row: float,
) -> dict[str, float]:
    """Imported rows: the importer (CPU and batch round trips), its writes and reads, and what the
    contacts stream does with each new contact (people index entries, the overview's gauges)."""
    usd, assume = prices()["usd"], prices()["assumptions"]
    batch_ms = assume["dynamodb_call_ms"]["batch"]
    importer = lambda_usd(
        1, cpu_s_per_row * rows, calls_per_row * rows * batch_ms, assume["lambda_memory_mb"]["import_file"]
    )
    batches = rows / assume["stream_batch_records"]
    stream = lambda_usd(batches, 0.005, 2 * batch_ms, assume["lambda_memory_mb"]["contacts_changed"])
    parts = {
        "importer_lambda": importer,
        "dynamodb_contacts": dynamodb_usd(rows * write_units_per_row, rows * read_keys_per_row * 0.5),
        "dynamodb_stream_fanout": dynamodb_usd(rows * (index_entries_per_row + gauge_writes_per_row), 0),
        "contacts_stream": stream,
        "s3_sqs": usd["s3_per_thousand_get_requests"] / 1000 + 2 * usd["sqs_per_million_requests"] / 1e6,
    }
    return parts | {"total": sum(parts.values())}


def mails(
    count: float, wall_s_per_mail: float, write_units_per_mail: float, read_units_per_mail: float
) -> dict[str, float]:
    """Mails sent by the tick: SES, the tick's time (its workers wait together), its reads and
    writes, and the feedback path (SES events through SNS and SQS to the feedback function, which
    writes the ledger and a counter per event)."""
    usd, assume = prices()["usd"], prices()["assumptions"]
    events = count * assume["ses_events_per_mail"]
    memory = assume["lambda_memory_mb"]["tick"]
    tick_gb_s = count * wall_s_per_mail * memory / 1024
    parts = {
        "ses": count * usd["ses_per_thousand_mails"] / 1000,
        "tick_lambda": tick_gb_s * usd["lambda_per_gb_second"],
        "dynamodb": dynamodb_usd(count * write_units_per_mail, count * read_units_per_mail),
        "feedback": events
        * (usd["sns_per_million_publishes"] + 2 * usd["sqs_per_million_requests"] / 10)
        / 1e6
        + lambda_usd(
            events / 10,
            0.002,
            10 * 2 * assume["dynamodb_call_ms"]["single"],
            assume["lambda_memory_mb"]["mail_feedback"],
        )
        + dynamodb_usd(events * 2, events),
    }
    return parts | {"total": sum(parts.values())}
