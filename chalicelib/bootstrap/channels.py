"""The composition root's builders for the channels besides mail: LINE's Messaging API (sends,
webhooks, account links) and SMS.  Part of the one root (bootstrap/__init__.py re-exports them)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from chalicelib import clock
from chalicelib.bootstrap import (
    _client,
    _secret,
    consent,
    contact_state,
    journey_store,
    link_key,
    mail_events,
    mail_transport,
    mailer,
    pause,
    pending_signups,
    scenario_actions,
    settings,
)
from chalicelib.parts import once

if TYPE_CHECKING:
    from chalicelib.aws.channels import LineClient
    from chalicelib.services.line_inbound import LineInbound
    from chalicelib.services.messenger import Messenger
    from chalicelib.services.short_links import ShortLinkClicks, ShortLinks
    from chalicelib.services.sms_receipts import SmsReceipts
    from chalicelib.services.sms_replies import SmsReplies
    from chalicelib.store.sms_stops import DynamoSmsStops


@once
def line_client() -> LineClient:
    """The channel's Messaging API (make run: the LINE stand-in), its token from the channel's secret."""
    from chalicelib.aws.channels import LineClient

    channel = _secret(settings().line_channel_secret)
    return LineClient(settings().line_api, lambda: channel.field("channel_access_token"))


@once
def messenger() -> Messenger:
    """LINE (its token in the secret the settings name) and SMS (End User Messaging SMS through
    the stack's configuration set: one gateway a type, each honouring STOP replies), under the
    fleet's buckets."""
    from chalicelib.aws.sms_voice import SmsVoiceSms, sms_voice_client
    from chalicelib.domain.sms_senders import BadSendersError, parse_senders
    from chalicelib.services.channel_ports import SmsGateway
    from chalicelib.services.messenger import Messenger, RefusingSms
    from chalicelib.services.sms_replies import HonouringStops
    from chalicelib.store.channel_ledger import ChannelTable

    s = settings()
    rates = {"line": s.line_rate, "sms": s.sms_rate}  # each channel's limit, the fleet's together
    buckets = ChannelTable(_client("dynamodb"), s.journeys_table, clock.wall, **rates)
    uses = (journey_store(), contact_state(), mailer(), clock.wall, pause(), s.sms_country)
    try:
        senders = parse_senders(s.sms_senders)
    except BadSendersError as error:  # every text fails naming the key; mail and LINE go on
        logging.getLogger("sodate.sms").error("sms_senders_setting_wrong %s", error)
        promotional: SmsGateway = RefusingSms(str(error))
        transactional: SmsGateway = promotional
    else:
        texts = sms_voice_client(s.sms_voice_url)  # one client, both types
        promotional, transactional = (
            HonouringStops(SmsVoiceSms(texts, s.sms_configuration_set, senders, kind), _stops())
            for kind in ("PROMOTIONAL", "TRANSACTIONAL")
        )
    return Messenger(
        line_client(), promotional, buckets, *uses, transactional_sms=transactional, short_links=short_links()
    )


@once
def short_links() -> ShortLinks:
    """Texts' short links (journeys table), at the short-link address or the API's."""
    from chalicelib.services.short_links import ShortLinks
    from chalicelib.store.short_links import DynamoShortLinks

    s = settings()
    store = DynamoShortLinks(_client("dynamodb"), s.journeys_table)
    return ShortLinks(store, s.short_link_url, clock.now)


@once
def short_link_clicks() -> ShortLinkClicks:
    """GET /s/<code>: the click on the token the code stands for."""
    from chalicelib.services.short_links import ShortLinkClicks

    return ShortLinkClicks(short_links(), mail_events())


@once
def line_inbound() -> LineInbound:
    from chalicelib.services.line_inbound import LineInbound
    from chalicelib.store.line_people import DynamoLinePeople

    s, channel = settings(), _secret(settings().line_channel_secret)  # the token and the secret, as JSON
    uses = (DynamoLinePeople(_client("dynamodb"), s.events_table, s.contacts_table), contact_state())
    keys, mail = (lambda: channel.field("channel_secret"), link_key().get), (mail_transport(), s.sender)
    counts = pending_signups()  # the sign-up forms' rate counters
    return LineInbound(
        *uses, consent(), line_client(), *keys, clock.now, (*mail, s.public_url), s.line_dialog_url, counts
    )


@once
def _stops() -> DynamoSmsStops:
    from chalicelib.store.sms_stops import DynamoSmsStops

    s = settings()
    return DynamoSmsStops(_client("dynamodb"), s.events_table, s.contacts_table, s.people_index_table)


@once
def sms_replies() -> SmsReplies:
    """Texts people send to the account's number (two-way SMS's SNS topic): STOP stops texts."""
    from chalicelib.services.sms_replies import SmsReplies

    return SmsReplies(_stops(), consent(), clock.now)


@once
def sms_receipts() -> SmsReceipts:
    """What became of the scenarios' texts (End User Messaging SMS's events): delivered, failed."""
    from chalicelib.services.sms_receipts import SmsReceipts

    return SmsReceipts(journey_store(), scenario_actions(), clock.now)
