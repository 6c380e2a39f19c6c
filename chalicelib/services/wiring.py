"""The composition root: real adapters, built once per Lambda container."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import lru_cache

from aws_lambda_powertools import Logger

from chalicelib.aws.clients import client
from chalicelib.aws.queue import DeadLetters, ImportQueue
from chalicelib.aws.s3files import S3Files
from chalicelib.aws.secrets import SecretValue
from chalicelib.domain.tokens import bearer_matches
from chalicelib.services.definitions import DefinitionsService
from chalicelib.services.evaluation import Evaluator
from chalicelib.services.import_file import Importer
from chalicelib.services.import_messages import ContinueImport, Reevaluate, parse_import_message
from chalicelib.services.sales_alerts import SalesAlerts
from chalicelib.settings import get_settings
from chalicelib.store.contact_state import ContactState
from chalicelib.store.contacts import DynamoContactStore
from chalicelib.store.definitions import DefinitionStore
from chalicelib.store.imports import DynamoLedger
from chalicelib.store.models import bind_tables
from chalicelib.store.segments import SegmentStore

logger = Logger(service="sodate", stream=sys.stderr)  # Lambda keeps both; stdout stays for tools


@lru_cache(maxsize=1)
def _bound() -> bool:
    bind_tables(get_settings())
    return True


@lru_cache(maxsize=1)
def importer() -> Importer:
    _bound()
    settings = get_settings()
    return Importer(
        store=DynamoContactStore(),
        files=S3Files(client("s3"), settings.bucket),
        ledger=DynamoLedger(),
        continuations=ImportQueue(client("sqs"), settings.import_queue_url),
        rows_per_run=settings.rows_per_run,
        max_file_bytes=settings.max_file_bytes,
    )


@lru_cache(maxsize=1)
def definitions() -> DefinitionsService:
    settings = get_settings()
    queue = ImportQueue(client("sqs"), settings.import_queue_url)
    return DefinitionsService(
        DefinitionStore(client("dynamodb"), settings.definitions_table),
        S3Files(client("s3"), settings.bucket),
        on_change=queue.reevaluate,
    )


@lru_cache(maxsize=1)
def segment_store() -> SegmentStore:
    return SegmentStore(client("dynamodb"), get_settings().segments_table)


@lru_cache(maxsize=1)
def contact_state() -> ContactState:
    settings = get_settings()
    return ContactState(client("dynamodb"), settings.contacts_table, settings.events_table)


@lru_cache(maxsize=1)
def evaluator() -> Evaluator:
    settings = get_settings()
    alerts = SalesAlerts(client("ses"), client("sns"), settings.sender, settings.sales_alerts_topic)
    parked = (
        DeadLetters(client("sqs"), settings.dead_letter_queue_url) if settings.dead_letter_queue_url else None
    )
    return Evaluator(
        contact_state(), segment_store(), definitions(), alerts, park=parked.park if parked else None
    )


@lru_cache(maxsize=1)
def _admin_token() -> SecretValue:
    return SecretValue(client("secretsmanager"), get_settings().admin_token_secret)


def admin_allowed(authorization: str | None) -> bool:
    return bearer_matches(authorization, _admin_token().get())


def tables_ready() -> None:
    _bound()


def handle_import_message(body: str, remaining_ms: Callable[[], int]) -> None:
    """One SQS message: an S3 notification or a continuation of a long import."""
    message = parse_import_message(body)
    if isinstance(message, Reevaluate):
        after = evaluator().reevaluate_all(message.stamp, message.start, remaining_ms)
        if after is not None:
            ImportQueue(client("sqs"), get_settings().import_queue_url).reevaluate(message.stamp, after)
        return
    if isinstance(message, ContinueImport):
        report = importer().continue_import(message.import_id, remaining_ms)
        if report:
            logger.info("import finished", extra={"file": report.file, "status": report.status})
        return
    for created in message:
        if created.key.startswith("config/"):
            result = definitions().from_bucket(created.key)
            logger.info("definition checked", extra={"file": created.key, "status": result.get("status")})
            continue
        report = importer().object_created(created, remaining_ms)
        if report:
            logger.info(
                "import finished",
                extra={"file": report.file, "status": report.status, "rows": report.counts.rows},
            )
