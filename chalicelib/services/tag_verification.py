"""Use case: 'is my tag installed on this page, and is it reporting?'"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from chalicelib.domain.errors import BadInputError
from chalicelib.domain.tag_check import find_tag
from chalicelib.services.ports import Clock, SiteDirectory
from chalicelib.services.sites_admin import SitesAdmin

RECENT = timedelta(hours=24)

Fetch = Callable[[str], tuple[int, str]]
"""GET a page of the customer's site: (HTTP status, HTML); raises BadInputError if refused."""


class TagVerification:
    def __init__(self, sites: SitesAdmin, events: SiteDirectory, fetch: Fetch, clock: Clock) -> None:
        self._sites = sites
        self._events = events
        self._fetch = fetch
        self._clock = clock

    def verify(self, site_id: str, url: Any) -> dict[str, Any]:
        site = self._sites.find(site_id)
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise BadInputError('Give the page as an http(s) URL: {"url": "https://..."}.')
        host = urlsplit(url).hostname or ""
        if not site.rules.owns(host):
            raise BadInputError(f"{host} is not one of this site's domains ({', '.join(site.domains)}).")
        status, html = self._fetch(url)
        finding = find_tag(html)
        path = urlsplit(url).path or "/"
        last_hit = self._events.page_last_hit(site_id, path)
        now = datetime.fromtimestamp(self._clock(), UTC)
        recent = bool(last_hit) and now - datetime.fromisoformat(str(last_hit)) < RECENT
        problems = []
        if status >= 400:
            problems.append(f"The page answered HTTP {status}.")
        if not finding.present:
            problems.append('No <script src=".../tag.js"> on the page.')
        elif site_id not in finding.site_ids:
            problems.append(f"The tag carries data-site {list(finding.site_ids)}, not {site_id}.")
        if not recent:
            problems.append("No hit from this page in the last 24 hours.")
        return {
            "url": url,
            "http_status": status,
            "tag_present": finding.present,
            "site_id_matches": site_id in finding.site_ids,
            "site_ids_found": list(finding.site_ids),
            "last_hit": last_hit,
            "hit_in_last_24h": recent,
            "ok": not problems,
            "problems": problems,
        }
