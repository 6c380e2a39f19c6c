"""The beacon path's storage: site lookup, hit writes, the visitor link, counters.

The beacon path must start fast (DESIGN: fast cold starts), so this module
avoids PynamoDB; every call here is a single-item or single-query request.
"""

from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.domain.hits import Hit
from chalicelib.domain.limits import can_be_id
from chalicelib.domain.site import Site

SITE_CACHE_SECONDS = 60
LINK_CACHE_SECONDS = 30
LINK_MARK = "link#"  # sorts after every ISO time, so timelines end before the markers

# Per container, shared by every store object: the admin side (event_admin.py)
# updates a link here the moment it makes one.
_SITE_CACHE: dict[str, tuple[float, Site | None]] = {}
_LINK_CACHE: dict[tuple[str, str], tuple[float, str | None]] = {}
ALL_SITES: dict[str, tuple[float, list[Site]]] = {}  # every site, for links in mail (event_admin.py)


class EventStore:
    def __init__(self, dynamodb: Any, sites_table: str, events_table: str) -> None:
        self._db = dynamodb
        self._sites = sites_table
        self._events = events_table
        self._site_cache = _SITE_CACHE
        self._link_cache = _LINK_CACHE

    def site(self, site_id: str) -> Site | None:
        """Cached a minute per container: a beacon costs no read for its site."""
        cached = self._site_cache.get(site_id)
        if cached and clock.stopwatch() - cached[0] < SITE_CACHE_SECONDS:
            return cached[1]
        if not can_be_id(site_id):
            return None
        item = self._db.get_item(TableName=self._sites, Key={"site_id": {"S": site_id}}).get("Item")
        site = site_of(item) if item else None
        if len(self._site_cache) > 1000:
            self._site_cache.clear()
        self._site_cache[site_id] = (clock.stopwatch(), site)
        return site

    def record(self, hit: Hit, owner: str, at: str, expires_at: int | None) -> None:
        """Two writes at most: the hit (one item, < 1 KB) and its page's last-seen line."""
        item: dict[str, Any] = {
            "pk": {"S": owner},
            "sk": {"S": f"{at}#{hit.visitor_id or '-'}#{clock.ticks_ns() % 10**6:06d}"},
            "kind": {"S": hit.kind},
            "site": {"S": hit.site_id},
            "url": {"S": hit.url},
            "path": {"S": hit.path},
            "at": {"S": at},
        }
        for name in ("title", "referrer", "screen", "name", "amount", "ip", "bot"):
            value = getattr(hit, name)
            if value:
                item[name] = {"S": value}
        if hit.visitor_id:
            item["visitor"] = {"S": hit.visitor_id}
        for name in ("utm", "props"):
            values = getattr(hit, name)
            if values:
                item[name] = {"M": {k: {"S": v} for k, v in values.items()}}
        if expires_at:
            item["expires_at"] = {"N": str(expires_at)}
        self._db.put_item(TableName=self._events, Item=item)
        if hit.kind == "pageview" and not hit.bot:
            self._db.update_item(
                TableName=self._events,
                Key={"pk": {"S": f"p#{hit.site_id}"}, "sk": {"S": hit.path}},
                UpdateExpression="SET last_hit = :at, last_url = :url ADD hits :one",
                ExpressionAttributeValues={":at": {"S": at}, ":url": {"S": hit.url}, ":one": {"N": "1"}},
            )

    def linked_contact(self, site_id: str, visitor_id: str) -> str | None:
        """One small read, cached briefly: known visitors' hits go straight to their contact."""
        key = (site_id, visitor_id)
        cached = self._link_cache.get(key)
        if cached and clock.stopwatch() - cached[0] < LINK_CACHE_SECONDS:
            return cached[1]
        item = self._db.get_item(
            TableName=self._events, Key={"pk": {"S": f"l#{site_id}#{visitor_id}"}, "sk": {"S": "contact"}}
        ).get("Item")
        contact_id = item["contact_id"]["S"] if item else None
        if len(self._link_cache) > 10_000:
            self._link_cache.clear()
        self._link_cache[key] = (clock.stopwatch(), contact_id)
        return contact_id

    def count_rejected(self, site_id: str, reason: str, day: str) -> None:
        self._db.update_item(
            TableName=self._events,
            Key={"pk": {"S": f"n#{site_id}#{day}"}, "sk": {"S": reason}},
            UpdateExpression="ADD hits :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )


def site_of(item: dict[str, Any]) -> Site:
    return Site(
        site_id=item["site_id"]["S"],
        name=item["name"]["S"],
        domains=tuple(d["S"] for d in item["domains"]["L"]),
        secret=item["secret"]["S"],
        consent_mode=item["consent_mode"]["S"],
        created_at=item["created_at"]["S"],
    )
