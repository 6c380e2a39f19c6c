"""The composition root: the only code that builds adapters and services (the console's in
console.py, LINE's and SMS's in channels.py), each once per container, on first use, importing
what it builds only then (the beacon path loads its few modules).  One clock: `clock.now`.  Imported by app.py, web/, devstack, bench, tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib import clock
from chalicelib.parts import forget, once
from chalicelib.parts import provide as provide  # a bench's or a test's part instead of ours
from chalicelib.settings import Settings, get_settings

if TYPE_CHECKING:
    from chalicelib.aws.secrets import SecretValue
    from chalicelib.services.batches import Isolation
    from chalicelib.services.beacons import Beacons
    from chalicelib.services.consent import ConsentRecords
    from chalicelib.services.contacts_admin import ContactsAdmin
    from chalicelib.services.definitions import DefinitionsService
    from chalicelib.services.evaluation import Evaluator
    from chalicelib.services.identity import Identity
    from chalicelib.services.import_desk import ImportDesk
    from chalicelib.services.import_file import Importer
    from chalicelib.services.mail_events import MailEvents
    from chalicelib.services.mailer import Mailer
    from chalicelib.services.ports import MailTransport
    from chalicelib.services.preferences import Preferences
    from chalicelib.services.purchases import Purchases
    from chalicelib.services.sales_alerts import SalesAlerts
    from chalicelib.services.scenario_actions import Actions
    from chalicelib.services.scenario_dates import DatePass
    from chalicelib.services.scenario_reports import ScenarioReports
    from chalicelib.services.scenario_runner import ScenarioRunner
    from chalicelib.services.segments_admin import SegmentsAdmin
    from chalicelib.services.signups import Signups
    from chalicelib.services.sites_admin import SitesAdmin
    from chalicelib.services.tag_verification import TagVerification
    from chalicelib.services.work import Work
    from chalicelib.store.consent import DynamoSignups
    from chalicelib.store.contact_state import ContactState
    from chalicelib.store.contacts import ContactDirectory
    from chalicelib.store.event_admin import EventAdmin
    from chalicelib.store.journeys import JourneyStore
    from chalicelib.store.segments import SegmentStore

settings: Callable[[], Settings] = get_settings  # the typed settings, read once


def reset() -> None:
    """Forget everything built or provided (tests that change the settings or the emulator)."""
    forget()
    get_settings.cache_clear()
    from chalicelib.aws.clients import client

    client.cache_clear()


def _client(service: str, one_attempt: bool = False) -> Any:
    from chalicelib.aws.clients import client

    return client(service, one_attempt)


# --- the beacon path: only what it needs ------------------------------------------------------------
@once
def beacons() -> Beacons:
    from chalicelib.services.beacons import Beacons
    from chalicelib.store.events import EventStore

    s = settings()
    store = EventStore(_client("dynamodb"), s.sites_table, s.events_table)
    return Beacons(store, s.visitor_ttl_days, clock.now, identify=lambda *a: identity().from_email_link(*a))


# --- adapters ------------------------------------------------------------------------------------------
@once
def _tables() -> bool:
    """PynamoDB's models take their table names from the settings."""
    from chalicelib.store.models import bind_tables

    bind_tables(settings())
    return True


@once
def site_directory() -> EventAdmin:
    from chalicelib.store.event_admin import EventAdmin

    return EventAdmin(_client("dynamodb"), settings().sites_table, settings().events_table)


@once
def contact_directory() -> ContactDirectory:
    from chalicelib.store.contacts import ContactDirectory

    _tables()
    return ContactDirectory(_client("dynamodb"))


@once
def contact_state() -> ContactState:
    from chalicelib.store.contact_state import ContactState

    s = settings()
    return ContactState(_client("dynamodb"), s.contacts_table, s.events_table, s.suppressions_table)


@once
def segment_store() -> SegmentStore:
    from chalicelib.store.segments import SegmentStore

    return SegmentStore(_client("dynamodb"), settings().segments_table, settings().events_table)


@once
def journey_store() -> JourneyStore:
    from chalicelib.store.journeys import JourneyStore

    return JourneyStore(_client("dynamodb"), settings().journeys_table)


def _bucket() -> Any:
    from chalicelib.aws.s3files import S3Files

    return S3Files(_client("s3"), settings().bucket)


def _queue() -> Any:
    from chalicelib.aws.queue import WorkQueue

    return WorkQueue(_client("sqs"), settings().import_queue_url)


def _secret(secret_id: str) -> SecretValue:
    from chalicelib.aws.secrets import SecretValue

    return SecretValue(_client("secretsmanager"), secret_id)


@once
def link_key() -> SecretValue:
    return _secret(settings().link_key_secret)


@once
def isolation() -> Isolation:
    """Per-record isolation for batch handlers: poison records parked on the dead-letter queue."""
    from chalicelib.aws.errors import is_transient
    from chalicelib.aws.queue import DeadLetters
    from chalicelib.services.batches import Isolation

    url = settings().dead_letter_queue_url
    return Isolation(DeadLetters(_client("sqs"), url) if url else None, is_transient)


# --- use cases ---------------------------------------------------------------------------------------
@once
def identity() -> Identity:
    from chalicelib.services.identity import Identity

    ttl = settings().visitor_ttl_days
    return Identity(site_directory(), contact_directory(), link_key().get, clock.now, ttl)


@once
def consent() -> ConsentRecords:
    from chalicelib.services.consent import ConsentRecords
    from chalicelib.store.consent import DynamoConsentLedger

    return ConsentRecords(DynamoConsentLedger(_client("dynamodb"), settings().events_table), clock.now)


@once
def pending_signups() -> DynamoSignups:  # awaiting confirmation; and the rate counters (forms, LINE)
    from chalicelib.store.consent import DynamoSignups

    return DynamoSignups(_client("dynamodb"), settings().events_table)


@once
def signups() -> Signups:
    from chalicelib.services.signups import MailLinks, Signups

    s = settings()
    links = MailLinks(s.public_url, s.sender, require_https=s.stage != "local")
    uses = (definitions(), contact_directory(), consent(), pending_signups(), mail_transport())
    return Signups(*uses, link_key().get, links, clock.now, identity())


@once
def purchases() -> Purchases:
    from chalicelib.services.purchases import Purchases

    return Purchases(identity(), contact_state(), clock.now, pause())


@once
def sites() -> SitesAdmin:
    from chalicelib.services.sites_admin import SitesAdmin

    return SitesAdmin(site_directory(), clock.now)


def _http(method: str, url: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, str]:
    """One checked request (aws/page_fetch.py); the local stack may reach loopback."""
    from chalicelib.aws import page_fetch

    page = page_fetch.call(method, url, settings().stage == "local", body, headers)
    return page.status, page.html


@once
def tag_verification() -> TagVerification:
    from chalicelib.services.tag_verification import TagVerification

    agent = {"User-Agent": "Sodate tag check"}
    return TagVerification(sites(), site_directory(), lambda url: _http("GET", url, None, agent), clock.now)


@once
def contacts() -> ContactsAdmin:
    from chalicelib.services.contacts_admin import ContactsAdmin

    uses = (contact_directory(), site_directory(), definitions(), consent(), clock.now)
    return ContactsAdmin(*uses, journey_store(), _queue())


@once
def segments() -> SegmentsAdmin:
    from chalicelib.services.segments_admin import SegmentsAdmin

    return SegmentsAdmin(definitions(), segment_store(), contact_state(), _bucket(), clock.now, figures())


@once
def importer() -> Importer:
    from chalicelib.services.import_file import Importer
    from chalicelib.store.contacts import DynamoContactStore
    from chalicelib.store.imports import DynamoLedger

    _tables()
    s = settings()
    uses = (
        DynamoContactStore(_client("dynamodb"), s.events_table),
        _bucket(),
        DynamoLedger(),
        _queue(),
        clock.now,
    )
    return Importer(*uses, consent().ledger, rows_per_run=s.rows_per_run, max_file_bytes=s.max_file_bytes)


@once
def import_desk() -> ImportDesk:
    """The console's import wizard: signed uploads, a file's preview, its mapping, the history."""
    from chalicelib.services.import_desk import ImportDesk

    return ImportDesk(_bucket(), clock.now, settings().max_file_bytes)


@once
def definitions() -> DefinitionsService:
    from chalicelib.services.definitions import DefinitionsService
    from chalicelib.store.definitions import DefinitionStore

    store = DefinitionStore(_client("dynamodb"), settings().definitions_table)
    return DefinitionsService(store, _bucket(), clock.now, on_change=_queue().reevaluate)


@once
def sales_alerts() -> SalesAlerts:
    from chalicelib.aws.alerts import SesSnsAlerts
    from chalicelib.services.sales_alerts import SalesAlerts

    alerts = SesSnsAlerts(_client("ses"), _client("sns"), settings().sender, settings().sales_alerts_topic)
    return SalesAlerts(alerts)


@once
def evaluator() -> Evaluator:
    from chalicelib.services.evaluation import Evaluator

    return Evaluator(contact_state(), segment_store(), definitions(), sales_alerts(), clock.now, isolation())


@once
def scenario_actions() -> Actions:
    from chalicelib.services.scenario_actions import Actions

    key = _secret(settings().webhook_key_secret).get
    return Actions(journey_store(), contact_state(), sales_alerts(), lambda *a: _http("POST", *a)[0], key)


@once
def pause() -> Callable[[float], None]:
    """How a retry waits (backing off while SES throttles)."""
    return time.sleep


@once
def mail_transport() -> MailTransport:
    from chalicelib.aws.mail import SesTransport

    return SesTransport(_client("ses", one_attempt=True), settings().sender, settings().configuration_set)


@once
def mailer() -> Mailer:
    from chalicelib.services.mailer import Links, Mailer

    s = settings()
    links = Links(s.public_url, link_key().get, require_https=s.stage != "local")
    return Mailer(mail_transport(), journey_store(), contact_state(), s.sender, links, pause())


@once
def runner() -> ScenarioRunner:
    from chalicelib.services.scenario_runner import ScenarioRunner

    journeys, state, actions = journey_store(), contact_state(), scenario_actions()
    return ScenarioRunner(journeys, state, definitions(), mailer(), actions, clock.now, messenger())


@once
def date_pass() -> DatePass:
    from chalicelib.services.scenario_dates import DatePass

    return DatePass(runner(), contact_state(), journey_store(), definitions())


@once
def mail_events() -> MailEvents:
    from chalicelib.services.mail_events import MailEvents

    _tables()
    journeys, state, actions = journey_store(), contact_state(), scenario_actions()
    key, sites = link_key().get, site_directory()
    return MailEvents(journeys, state, actions, contact_directory(), key, clock.now, sites, consent())


@once
def preferences() -> Preferences:
    from chalicelib.services.preferences import Preferences

    state, directory = contact_state(), contact_directory()
    return Preferences(definitions(), state, directory, consent(), mail_events(), link_key().get, clock.now)


@once
def scenario_reports() -> ScenarioReports:
    from chalicelib.services.scenario_reports import ScenarioReports

    return ScenarioReports(definitions(), journey_store(), settings().short_link_url)


@once
def work() -> Work:
    from chalicelib.services.work import Work

    parts = (importer(), definitions(), evaluator(), runner(), date_pass(), _queue(), clock.now)
    return Work(*parts, contacts())


# The console's and the channels' builders: bootstrap/console.py and channels.py, part of this root.
from chalicelib.bootstrap.channels import line_client as line_client  # noqa: E402
from chalicelib.bootstrap.channels import line_inbound as line_inbound  # noqa: E402
from chalicelib.bootstrap.channels import messenger as messenger  # noqa: E402
from chalicelib.bootstrap.channels import short_link_clicks as short_link_clicks  # noqa: E402
from chalicelib.bootstrap.channels import sms_receipts as sms_receipts  # noqa: E402
from chalicelib.bootstrap.channels import sms_replies as sms_replies  # noqa: E402
from chalicelib.bootstrap.console import console as console  # noqa: E402
from chalicelib.bootstrap.console import figures as figures  # noqa: E402
