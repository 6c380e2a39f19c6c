"""Use cases behind /admin/sites: register a site, see its pages and rejected hits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.errors import NotFoundError
from chalicelib.domain.site import Site, new_site
from chalicelib.services.ports import Clock, SiteDirectory


class SiteNotFoundError(NotFoundError):
    pass


class SitesAdmin:
    def __init__(self, store: SiteDirectory, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def register(self, body: Any, site_id: str | None = None) -> dict[str, Any]:
        """A new site; the answer is the only place its secret is shown."""
        site = new_site(body, self._now().isoformat(timespec="seconds"), site_id)
        self._store.put_site(site)
        return {**site.public(), "secret": site.secret}

    def find(self, site_id: str) -> Site:
        site = self._store.site(site_id)
        if site is None:
            raise SiteNotFoundError(f"No site has id {site_id}.")
        return site

    def listing(self) -> dict[str, Any]:
        """Every site, by name, with today's rejected hits by reason."""
        today = self._now().strftime("%Y-%m-%d")
        found = sorted(self._store.all_sites(), key=lambda site: (site.name.lower(), site.site_id))
        return {
            "sites": [{**s.public(), "rejected_today": self._store.rejected(s.site_id, today)} for s in found]
        }

    def describe(self, site_id: str) -> dict[str, Any]:
        site = self.find(site_id)
        today = self._now().strftime("%Y-%m-%d")
        return {**site.public(), "rejected_today": self._store.rejected(site_id, today)}

    def visitor_timeline(
        self, site_id: str, visitor_id: str, limit: int, cursor: str | None
    ) -> dict[str, Any]:
        """An anonymous visitor's hits on one site, newest first."""
        self.find(site_id)
        hits, next_cursor = self._store.timeline(f"v#{site_id}#{visitor_id}", max(1, min(limit, 200)), cursor)
        return {"hits": hits, "next_cursor": next_cursor}

    def pages(self, site_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
        """Every page the tag reported from, with its last hit: a page gone quiet stands out."""
        self.find(site_id)
        seen, next_cursor = self._store.pages(site_id, max(1, min(limit, 500)), cursor)
        now = self._now()
        for page in seen:
            page["quiet_days"] = (now - datetime.fromisoformat(page["last_hit"])).days
        return {"pages": seen, "next_cursor": next_cursor}

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)
