"""Use cases behind /admin/sites: register a site, see its pages and rejected hits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.errors import NotFoundError
from chalicelib.domain.site import InvalidSiteError, Site, new_site
from chalicelib.services.admin_stores import event_admin
from chalicelib.store.event_admin import EventAdmin, InvalidCursorError

__all__ = ["InvalidCursorError", "InvalidSiteError", "SiteNotFoundError"]


class SiteNotFoundError(NotFoundError):
    pass


def _store() -> EventAdmin:
    return event_admin()


def register(body: Any, site_id: str | None = None) -> dict[str, Any]:
    """A new site; the answer is the only place its secret is shown."""
    site = new_site(body, datetime.now(UTC).isoformat(timespec="seconds"), site_id)
    _store().put_site(site)
    return {**site.public(), "secret": site.secret}


def find(site_id: str) -> Site:
    site = _store().site(site_id)
    if site is None:
        raise SiteNotFoundError(f"No site has id {site_id}.")
    return site


def describe(site_id: str) -> dict[str, Any]:
    site = find(site_id)
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    return {**site.public(), "rejected_today": _store().rejected(site_id, today)}


def visitor_timeline(site_id: str, visitor_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """An anonymous visitor's hits on one site, newest first."""
    find(site_id)
    hits, next_cursor = _store().timeline(f"v#{site_id}#{visitor_id}", max(1, min(limit, 200)), cursor)
    return {"hits": hits, "next_cursor": next_cursor}


def pages(site_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """Every page the tag reported from, with its last hit: a page gone quiet stands out."""
    find(site_id)
    seen, next_cursor = _store().pages(site_id, max(1, min(limit, 500)), cursor)
    now = datetime.now(UTC)
    for page in seen:
        page["quiet_days"] = (now - datetime.fromisoformat(page["last_hit"])).days
    return {"pages": seen, "next_cursor": next_cursor}
