"""The composition root: real adapters, built once per Lambda container."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib import clock
from chalicelib.aws import page_fetch
from chalicelib.aws.clients import client
from chalicelib.aws.queue import DeadLetters, ImportQueue
from chalicelib.aws.s3files import S3Files
from chalicelib.aws.secrets import SecretValue
from chalicelib.domain.tokens import bearer_matches
from chalicelib.services.definitions import DefinitionsService
from chalicelib.services.evaluation import Evaluator
from chalicelib.services.import_file import Importer
from chalicelib.services.import_messages import ContinueImport, DatePassOn, Reevaluate, parse_import_message
from chalicelib.services.mail_events import MailEvents
from chalicelib.services.mailer import Links, Mailer
from chalicelib.services.sales_alerts import SalesAlerts
from chalicelib.services.scenario_actions import Actions
from chalicelib.services.scenario_dates import DatePass
from chalicelib.services.scenario_engine import Engine
from chalicelib.settings import get_settings
from chalicelib.store.contact_state import ContactState
from chalicelib.store.contacts import DynamoContactStore, suppress
from chalicelib.store.definitions import DefinitionStore
from chalicelib.store.imports import DynamoLedger
from chalicelib.store.journeys import JourneyStore
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
def sales_alerts() -> SalesAlerts:
    settings = get_settings()
    return SalesAlerts(client("ses"), client("sns"), settings.sender, settings.sales_alerts_topic)


@lru_cache(maxsize=1)
def evaluator() -> Evaluator:
    settings = get_settings()
    parked = (
        DeadLetters(client("sqs"), settings.dead_letter_queue_url) if settings.dead_letter_queue_url else None
    )
    return Evaluator(
        contact_state(),
        segment_store(),
        definitions(),
        sales_alerts(),
        clock=clock.now,
        park=parked.park if parked else None,
    )


@lru_cache(maxsize=1)
def journey_store() -> JourneyStore:
    return JourneyStore(client("dynamodb"), get_settings().journeys_table)


@lru_cache(maxsize=1)
def _link_key() -> SecretValue:
    return SecretValue(client("secretsmanager"), get_settings().link_key_secret)


@lru_cache(maxsize=1)
def scenario_actions() -> Actions:
    settings = get_settings()
    webhook_key = SecretValue(client("secretsmanager"), settings.webhook_key_secret)
    local = settings.stage == "local"

    def post(url: str, body: bytes, headers: dict[str, str]) -> int:
        return page_fetch.call("POST", url, local, body, headers).status

    return Actions(journey_store(), contact_state(), sales_alerts(), post, webhook_key.get)


@lru_cache(maxsize=1)
def engine() -> Engine:
    _bound()
    settings = get_settings()
    state = contact_state()
    mailer = Mailer(
        client("ses"),
        journey_store(),
        lambda email: state.for_sending(email, settings.suppressions_table),
        settings.sender,
        settings.configuration_set,
        Links(settings.public_url, _link_key().get, require_https=settings.stage != "local"),
    )
    return Engine(journey_store(), state, definitions(), mailer, scenario_actions(), clock=clock.now)


def date_pass(day: date, start: dict[str, Any] | None, remaining_ms: Callable[[], int]) -> int:
    """The day's date entries; what one run cannot finish goes on through the work queue."""
    entered, after = DatePass(engine(), contact_state(), journey_store(), definitions()).run(
        day, start, remaining_ms
    )
    if after is not None:
        ImportQueue(client("sqs"), get_settings().import_queue_url).date_pass(day.isoformat(), after)
    return entered


@lru_cache(maxsize=1)
def mail_events() -> MailEvents:
    _bound()
    return MailEvents(
        journey_store(), contact_state(), scenario_actions(), suppress, _link_key().get, clock=clock.now
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
    if isinstance(message, DatePassOn):
        date_pass(message.day, message.start, remaining_ms)
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
