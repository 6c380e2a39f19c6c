"""The composition root: the only code that builds adapters and services.

Each builder runs once per Lambda container, on first use, importing what it builds only then: the
beacon path loads its few modules and nothing else.  Every service gets the one clock (`clock.now`).
Only the HTTP room (app.py, web/), devstack, bench and the tests import this module.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from chalicelib import clock, parts
from chalicelib.aws.clients import client as _client  # every part needs a client: boto3 is loaded anyway
from chalicelib.settings import Settings, get_settings

if TYPE_CHECKING:
    from chalicelib.aws.secrets import SecretValue
    from chalicelib.services.batches import Isolation
    from chalicelib.services.beacons import Beacons
    from chalicelib.services.consent import ConsentRecords
    from chalicelib.services.console import ConsoleAccess
    from chalicelib.services.contacts_admin import ContactsAdmin
    from chalicelib.services.definitions import DefinitionsService
    from chalicelib.services.evaluation import Evaluator
    from chalicelib.services.figures import Figures
    from chalicelib.services.identity import Identity
    from chalicelib.services.import_desk import ImportDesk
    from chalicelib.services.import_file import Importer
    from chalicelib.services.mail_events import MailEvents
    from chalicelib.services.mailer import Mailer
    from chalicelib.services.messenger import Messenger
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
    from chalicelib.store.contact_state import ContactState
    from chalicelib.store.contacts import ContactDirectory
    from chalicelib.store.event_admin import EventAdmin
    from chalicelib.store.journeys import JourneyStore
    from chalicelib.store.segments import SegmentStore

_once = parts.once
provide = parts.provide


def reset() -> None:
    """Forget everything built or provided (tests that change the settings or the emulator)."""
    parts.forget()
    get_settings.cache_clear()
    _client.cache_clear()


settings: Callable[[], Settings] = get_settings


# --- the beacon path: only what it needs ------------------------------------------------------------
@_once
def beacons() -> Beacons:
    from chalicelib.services.beacons import Beacons
    from chalicelib.store.events import EventStore

    store = EventStore(_client("dynamodb"), settings().sites_table, settings().events_table)
    return Beacons(
        store,
        settings().visitor_ttl_days,
        clock.now,
        identify=lambda site, visitor_id, token: identity().from_email_link(site, visitor_id, token),
    )


# --- adapters ------------------------------------------------------------------------------------------
@_once
def _tables() -> bool:
    """PynamoDB's models take their table names from the settings."""
    from chalicelib.store.models import bind_tables

    bind_tables(settings())
    return True


@_once
def site_directory() -> EventAdmin:
    from chalicelib.store.event_admin import EventAdmin

    return EventAdmin(_client("dynamodb"), settings().sites_table, settings().events_table)


@_once
def contact_directory() -> ContactDirectory:
    from chalicelib.store.contacts import ContactDirectory

    _tables()
    return ContactDirectory(_client("dynamodb"))


@_once
def contact_state() -> ContactState:
    from chalicelib.store.contact_state import ContactState

    s = settings()
    return ContactState(_client("dynamodb"), s.contacts_table, s.events_table, s.suppressions_table)


@_once
def segment_store() -> SegmentStore:
    from chalicelib.store.segments import SegmentStore

    return SegmentStore(_client("dynamodb"), settings().segments_table, settings().events_table)


@_once
def journey_store() -> JourneyStore:
    from chalicelib.store.journeys import JourneyStore

    return JourneyStore(_client("dynamodb"), settings().journeys_table)


def _bucket() -> Any:
    from chalicelib.aws.s3files import S3Files

    return S3Files(_client("s3"), settings().bucket)


def _work_queue() -> Any:
    from chalicelib.aws.queue import WorkQueue

    return WorkQueue(_client("sqs"), settings().import_queue_url)


def _secret(secret_id: str) -> SecretValue:
    from chalicelib.aws.secrets import SecretValue

    return SecretValue(_client("secretsmanager"), secret_id)


@_once
def link_key() -> SecretValue:
    return _secret(settings().link_key_secret)


@_once
def isolation() -> Isolation:
    """Per-record isolation for batch handlers: poison records parked on the dead-letter queue."""
    from chalicelib.aws.errors import is_transient
    from chalicelib.aws.queue import DeadLetters
    from chalicelib.services.batches import Isolation

    url = settings().dead_letter_queue_url
    return Isolation(DeadLetters(_client("sqs"), url) if url else None, is_transient)


# --- use cases ---------------------------------------------------------------------------------------
@_once
def identity() -> Identity:
    from chalicelib.services.identity import Identity

    uses = (site_directory(), contact_directory(), link_key().get, clock.now)
    return Identity(*uses, settings().visitor_ttl_days)


@_once
def consent() -> ConsentRecords:
    from chalicelib.services.consent import ConsentRecords
    from chalicelib.store.consent import DynamoConsentLedger

    return ConsentRecords(DynamoConsentLedger(_client("dynamodb"), settings().events_table), clock.now)


@_once
def signups() -> Signups:
    from chalicelib.services.signups import MailLinks, Signups
    from chalicelib.store.consent import DynamoSignups

    s = settings()
    pending = DynamoSignups(_client("dynamodb"), s.events_table)
    links = MailLinks(s.public_url, s.sender, require_https=s.stage != "local")
    uses = (definitions(), contact_directory(), consent(), pending, mail_transport(), link_key().get)
    return Signups(*uses, links, clock.now, identity())


@_once
def purchases() -> Purchases:
    from chalicelib.services.purchases import Purchases

    return Purchases(identity(), contact_state(), clock.now)


@_once
def sites() -> SitesAdmin:
    from chalicelib.services.sites_admin import SitesAdmin

    return SitesAdmin(site_directory(), clock.now)


@_once
def tag_verification() -> TagVerification:
    from chalicelib.aws import page_fetch
    from chalicelib.services.tag_verification import TagVerification

    get = partial(page_fetch.status_and_html, settings().stage == "local")  # locally, loopback pages too
    return TagVerification(sites(), site_directory(), get, clock.now)


@_once
def contacts() -> ContactsAdmin:
    from chalicelib.services.contacts_admin import ContactsAdmin

    return ContactsAdmin(contact_directory(), site_directory(), definitions(), consent(), clock.now)


@_once
def segments() -> SegmentsAdmin:
    from chalicelib.services.segments_admin import SegmentsAdmin

    return SegmentsAdmin(definitions(), segment_store(), contact_state(), _bucket(), clock.now, figures())


@_once
def importer() -> Importer:
    from chalicelib.services.import_file import Importer
    from chalicelib.store.consent import DynamoConsentLedger
    from chalicelib.store.contacts import DynamoContactStore
    from chalicelib.store.imports import DynamoLedger

    _tables()
    s, dynamodb = settings(), _client("dynamodb")
    uses = (DynamoContactStore(dynamodb), _bucket(), DynamoLedger(), _work_queue(), clock.now)
    consent_ledger = DynamoConsentLedger(dynamodb, s.events_table)
    return Importer(*uses, consent_ledger, rows_per_run=s.rows_per_run, max_file_bytes=s.max_file_bytes)


@_once
def import_desk() -> ImportDesk:
    """The console's import wizard: signed uploads, a file's preview, its mapping, the history."""
    from chalicelib.services.import_desk import ImportDesk

    return ImportDesk(_bucket(), clock.now, settings().max_file_bytes)


@_once
def definitions() -> DefinitionsService:
    from chalicelib.services.definitions import DefinitionsService
    from chalicelib.store.definitions import DefinitionStore

    store = DefinitionStore(_client("dynamodb"), settings().definitions_table)
    return DefinitionsService(store, _bucket(), clock.now, on_change=_work_queue().reevaluate)


@_once
def sales_alerts() -> SalesAlerts:
    from chalicelib.aws.alerts import SesSnsAlerts
    from chalicelib.services.sales_alerts import SalesAlerts

    alerts = SesSnsAlerts(_client("ses"), _client("sns"), settings().sender, settings().sales_alerts_topic)
    return SalesAlerts(alerts)


@_once
def evaluator() -> Evaluator:
    from chalicelib.services.evaluation import Evaluator

    return Evaluator(contact_state(), segment_store(), definitions(), sales_alerts(), clock.now, isolation())


@_once
def scenario_actions() -> Actions:
    from chalicelib.aws import page_fetch
    from chalicelib.services.scenario_actions import Actions

    local, webhook_key = settings().stage == "local", _secret(settings().webhook_key_secret).get
    post = partial(page_fetch.status_of_post, local)  # a scenario's webhook, signed
    return Actions(journey_store(), contact_state(), sales_alerts(), post, webhook_key)


@_once
def pause() -> Callable[[float], None]:
    """How a retry waits (backing off while SES throttles)."""
    return time.sleep


@_once
def mail_transport() -> MailTransport:
    from chalicelib.aws.mail import SesTransport

    return SesTransport(_client("ses"), settings().sender, settings().configuration_set)


@_once
def mailer() -> Mailer:
    from chalicelib.services.mailer import Links, Mailer

    s = settings()
    links = Links(s.public_url, link_key().get, require_https=s.stage != "local")
    return Mailer(mail_transport(), journey_store(), contact_state(), s.sender, links, pause())


@_once
def runner() -> ScenarioRunner:
    from chalicelib.services.scenario_runner import ScenarioRunner

    journeys, state, actions = journey_store(), contact_state(), scenario_actions()
    return ScenarioRunner(journeys, state, definitions(), mailer(), actions, clock.now, messenger())


@_once
def messenger() -> Messenger:
    """LINE (its token in the secret the settings name) and SMS (SNS), under the fleet's buckets."""
    from chalicelib.aws.channels import LineClient, SnsSms
    from chalicelib.services.messenger import Messenger
    from chalicelib.store.channel_ledger import ChannelTable

    s = settings()
    line = LineClient(s.line_api_url, _secret(s.line_token_secret).get)
    rates = {"line": s.line_rate, "sms": s.sms_rate}  # each channel's limit, the fleet's together
    buckets = ChannelTable(_client("dynamodb"), s.journeys_table, clock.wall, **rates)
    uses = (journey_store(), contact_state(), mailer(), clock.wall, pause(), s.sms_country)
    return Messenger(line, SnsSms(_client("sns"), s.sms_sender_id), buckets, *uses)


@_once
def date_pass() -> DatePass:
    from chalicelib.services.scenario_dates import DatePass

    return DatePass(runner(), contact_state(), journey_store(), definitions())


@_once
def mail_events() -> MailEvents:
    from chalicelib.services.mail_events import MailEvents

    _tables()
    journeys, state, actions = journey_store(), contact_state(), scenario_actions()
    key, sites = link_key().get, site_directory()
    return MailEvents(journeys, state, actions, contact_directory(), key, clock.now, sites, consent())


@_once
def preferences() -> Preferences:
    from chalicelib.services.preferences import Preferences

    state, directory = contact_state(), contact_directory()
    return Preferences(definitions(), state, directory, consent(), mail_events(), link_key().get, clock.now)


@_once
def scenario_reports() -> ScenarioReports:
    from chalicelib.services.scenario_reports import ScenarioReports

    return ScenarioReports(definitions(), journey_store())


@_once
def work() -> Work:
    from chalicelib.services.work import Work

    return Work(importer(), definitions(), evaluator(), runner(), date_pass(), _work_queue(), clock.now)


@_once
def console() -> ConsoleAccess:
    """Who acts in the console or the admin API: a user pool sign-in and its session, or the token."""
    from chalicelib.aws.cognito import CognitoUsers
    from chalicelib.domain.console import SessionRules
    from chalicelib.services.audit import AuditLog
    from chalicelib.services.console import ConsoleAccess
    from chalicelib.services.console_members import ConsoleMembers
    from chalicelib.store.console import ConsoleTable

    s = settings()
    users = CognitoUsers(_client("cognito-idp"), s.user_pool_id, s.user_pool_client_id)
    table = ConsoleTable(_client("dynamodb"), s.console_table)  # the sessions and the audit log
    rules = SessionRules(s.console_idle_minutes * 60, s.console_session_hours * 3600)
    token = _secret(s.admin_token_secret).get
    members = ConsoleMembers(users, table, clock.now)
    return ConsoleAccess(users, table, AuditLog(table, clock.now), members, clock.now, token, rules)


@_once
def figures() -> Figures:
    """The console's counters, kept in the console table as the streams deliver."""
    from chalicelib.services.figures import Figures
    from chalicelib.store.figures import FigureBook
    from chalicelib.store.people_index import PeopleIndexTable

    db, s = _client("dynamodb"), settings()
    index = PeopleIndexTable(db, s.people_index_table)
    return Figures(FigureBook(db, s.console_table), index, contact_state(), clock.now)
