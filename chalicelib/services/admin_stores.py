"""The admin side's view of the events table, built once per container."""

from __future__ import annotations

from functools import lru_cache

from chalicelib.aws.clients import client
from chalicelib.settings import get_settings
from chalicelib.store.event_admin import EventAdmin


@lru_cache(maxsize=1)
def event_admin() -> EventAdmin:
    settings = get_settings()
    return EventAdmin(client("dynamodb"), settings.sites_table, settings.events_table)
