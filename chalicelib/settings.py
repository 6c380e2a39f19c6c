"""Typed settings, read from the environment once, when first asked for.

Chalice puts the stage's `environment_variables` (fed by the CloudFormation
outputs) into the Lambda environment; `make run` writes the same names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    contacts_table: str
    imports_table: str
    suppressions_table: str
    bucket: str
    import_queue_url: str
    admin_token_secret: str  # Secrets Manager id of the admin bearer token
    rows_per_run: int  # 0: run until Lambda time is nearly up
    max_file_bytes: int
    sites_table: str = "sodate-sites"
    events_table: str = "sodate-events"
    visitor_ttl_days: int = 90  # anonymous visitor history expires (DynamoDB TTL)
    link_key_secret: str = "sodate/link-signing-key"
    stage: str = "aws"  # "local" (make run) may fetch loopback pages for tag verification
    definitions_table: str = "sodate-definitions"
    segments_table: str = "sodate-segments"
    sales_alerts_topic: str = ""  # SNS topic ARN
    sender: str = "sodate@example.com"  # SES-verified From address
    dead_letter_queue_url: str = ""  # where records no retry can fix are parked
    journeys_table: str = "sodate-journeys"
    configuration_set: str = ""  # SES configuration set: its events come back as mail feedback
    public_url: str = ""  # the API's public base URL, for links in mail (https://.../api)
    beacon_url: str = ""  # the beacon function's own URL, where the tag comes from (make deploy)
    webhook_key_secret: str = "sodate/webhook-signing-key"
    feedback_queue: str = "sodate-mail-feedback"  # SQS queue name (SES feedback via SNS)
    console_table: str = "sodate-console"  # console sessions and the audit log
    people_index_table: str = "sodate-people-index"  # who is in each grid cell, under which names
    user_pool_id: str = ""  # the console's Cognito user pool
    user_pool_client_id: str = ""  # its app client (server-side sign-in, no secret)
    console_idle_minutes: int = 30  # a session unused this long ends
    console_session_hours: int = 12  # and any session ends this long after sign-in
    mailbox_url: str = ""  # make run's local mailbox, shown inside the console (none on AWS)
    line_channel_secret: str = "sodate/line-channel"  # {"channel_access_token", "channel_secret"}
    line_api: str = "https://api.line.me"  # the Messaging API (make run: the LINE stand-in)
    line_dialog_url: str = "https://access.line.me/dialog/bot/accountLink"  # LINE's account-link page
    line_rate: float = 2000.0  # the channel's push limit per second (LINE's, not raised on request)
    sms_rate: float = 20.0  # texts per second the account may send (End User Messaging SMS's quota)
    sms_country: str = "JP"  # of a phone number written without a country code
    sms_senders: str = ""  # JSON: who texts come from, per country (domain/sms_senders.py)
    short_link_url: str = ""  # where a text's short links point (/s/<code>): public_url unless set
    sms_configuration_set: str = ""  # End User Messaging SMS's, whose events say what became of texts
    sms_voice_url: str = ""  # End User Messaging SMS's endpoint: make run's stand-in ('' on AWS)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    env = os.environ
    return Settings(
        contacts_table=env.get("SODATE_CONTACTS_TABLE", "sodate-contacts"),
        imports_table=env.get("SODATE_IMPORTS_TABLE", "sodate-imports"),
        suppressions_table=env.get("SODATE_SUPPRESSIONS_TABLE", "sodate-suppressions"),
        bucket=env.get("SODATE_BUCKET", ""),
        import_queue_url=env.get("SODATE_IMPORT_QUEUE_URL", ""),
        admin_token_secret=env.get("SODATE_ADMIN_TOKEN_SECRET", "sodate/admin-token"),
        rows_per_run=int(env.get("SODATE_IMPORT_ROWS_PER_RUN", "0")),
        max_file_bytes=int(env.get("SODATE_IMPORT_MAX_BYTES", str(2 * 1024**3))),
        sites_table=env.get("SODATE_SITES_TABLE", "sodate-sites"),
        events_table=env.get("SODATE_EVENTS_TABLE", "sodate-events"),
        visitor_ttl_days=int(env.get("SODATE_VISITOR_TTL_DAYS", "90")),
        link_key_secret=env.get("SODATE_LINK_KEY_SECRET", "sodate/link-signing-key"),
        stage=env.get("SODATE_STAGE", "aws"),
        definitions_table=env.get("SODATE_DEFINITIONS_TABLE", "sodate-definitions"),
        segments_table=env.get("SODATE_SEGMENTS_TABLE", "sodate-segments"),
        sales_alerts_topic=env.get("SODATE_SALES_ALERTS_TOPIC", ""),
        sender=env.get("SODATE_SENDER", "sodate@example.com"),
        dead_letter_queue_url=env.get("SODATE_DEAD_LETTER_QUEUE_URL", ""),
        journeys_table=env.get("SODATE_JOURNEYS_TABLE", "sodate-journeys"),
        configuration_set=env.get("SODATE_CONFIGURATION_SET", ""),
        public_url=env.get("SODATE_PUBLIC_URL", "").rstrip("/"),
        beacon_url=env.get("SODATE_BEACON_URL", "").rstrip("/"),
        webhook_key_secret=env.get("SODATE_WEBHOOK_KEY_SECRET", "sodate/webhook-signing-key"),
        feedback_queue=env.get("SODATE_FEEDBACK_QUEUE", "sodate-mail-feedback"),
        console_table=env.get("SODATE_CONSOLE_TABLE", "sodate-console"),
        people_index_table=env.get("SODATE_PEOPLE_INDEX_TABLE", "sodate-people-index"),
        user_pool_id=env.get("SODATE_USER_POOL_ID", ""),
        user_pool_client_id=env.get("SODATE_USER_POOL_CLIENT_ID", ""),
        console_idle_minutes=int(env.get("SODATE_CONSOLE_IDLE_MINUTES", "30")),
        console_session_hours=int(env.get("SODATE_CONSOLE_SESSION_HOURS", "12")),
        mailbox_url=env.get("SODATE_MAILBOX_URL", "") if env.get("SODATE_STAGE") == "local" else "",
        line_channel_secret=env.get("SODATE_LINE_CHANNEL_SECRET", "sodate/line-channel"),
        line_api=env.get("SODATE_LINE_API", "https://api.line.me").rstrip("/"),
        line_dialog_url=env.get("SODATE_LINE_DIALOG_URL", "https://access.line.me/dialog/bot/accountLink"),
        line_rate=float(env.get("SODATE_LINE_RATE", "2000")),
        sms_rate=float(env.get("SODATE_SMS_RATE", "20")),
        sms_country=env.get("SODATE_SMS_COUNTRY", "JP"),
        sms_senders=env.get("SODATE_SMS_SENDERS", ""),
        short_link_url=(env.get("SODATE_SHORT_LINK_URL") or env.get("SODATE_PUBLIC_URL", "")).rstrip("/"),
        sms_configuration_set=env.get("SODATE_SMS_CONFIGURATION_SET", ""),
        sms_voice_url=env.get("SODATE_SMS_VOICE_URL", "").rstrip("/"),
    )
