"""Use case: 'is my tag installed on this page, and is it reporting?'"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from chalicelib.aws.page_fetch import Page, fetch
from chalicelib.domain.errors import BadInputError
from chalicelib.domain.tag_check import find_tag
from chalicelib.services import sites_admin
from chalicelib.services.admin_stores import event_admin

RECENT = timedelta(hours=24)


def verify(
    site_id: str, url: Any, allow_private: bool, fetcher: Callable[[str, bool], Page] = fetch
) -> dict[str, Any]:
    site = sites_admin.find(site_id)
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        raise BadInputError('Give the page as an http(s) URL: {"url": "https://..."}.')
    host = urlsplit(url).hostname or ""
    if not site.rules.owns(host):
        raise BadInputError(f"{host} is not one of this site's domains ({', '.join(site.domains)}).")
    page = fetcher(url, allow_private)
    finding = find_tag(page.html)
    path = urlsplit(url).path or "/"
    last_hit = event_admin().page_last_hit(site_id, path)
    recent = bool(last_hit) and datetime.now(UTC) - datetime.fromisoformat(str(last_hit)) < RECENT
    problems = []
    if page.status >= 400:
        problems.append(f"The page answered HTTP {page.status}.")
    if not finding.present:
        problems.append('No <script src=".../tag.js"> on the page.')
    elif site_id not in finding.site_ids:
        problems.append(f"The tag carries data-site {list(finding.site_ids)}, not {site_id}.")
    if not recent:
        problems.append("No hit from this page in the last 24 hours.")
    return {
        "url": url,
        "http_status": page.status,
        "tag_present": finding.present,
        "site_id_matches": site_id in finding.site_ids,
        "site_ids_found": list(finding.site_ids),
        "last_hit": last_hit,
        "hit_in_last_24h": recent,
        "ok": not problems,
        "problems": problems,
    }
