"""The beacon path's storage: site lookup, hit writes, the visitor link, counters.

The beacon path must start fast (DESIGN: fast cold starts), so this module
avoids PynamoDB; every call here is a single-item or single-query request.

No key takes a site's whole traffic (DynamoDB allows 1,000 writes a second on one key;
`make bench` replays a large shop's peak, bench/partitions.py):
- a page's last-seen line lives under `p#<site>#<shard of its path>`, and each container
  writes a busy page's line at most once a minute, adding the hits it held (domain/coalesce.py);
- rejected hits count under `n#<site>#<day>#<shard of the container>`, coalesced per second;
- anonymous hits go to `a#<site>#<day>#<n>`, n taken in turn (only the events stream reads them).
Readers ask every shard and add up (store/event_admin.py).
"""

from __future__ import annotations

import os
from typing import Any

from chalicelib import clock
from chalicelib.domain.coalesce import Coalescer
from chalicelib.domain.hits import Hit
from chalicelib.domain.limits import can_be_id
from chalicelib.domain.site import Site
from chalicelib.store.dynamo import shard_of

SITE_CACHE_SECONDS = 60
SITE_CACHE_ENTRIES = 1000  # sites (and ids no site has) a container remembers
LINK_CACHE_SECONDS = 30
LINK_MARK = "link#"  # sorts after every ISO time, so timelines end before the markers
PAGE_SHARDS = 16
PAGE_BURST, PAGE_WINDOW = 3, 60.0  # a page's line: 3 writes at once, then one a minute a container
REJECTED_SHARDS = 16
REJECTED_BURST, REJECTED_WINDOW = 10, 1.0  # a rejection counter: 10 at once, then one a second
ANONYMOUS_SHARDS = 32


def page_key(site_id: str, path: str) -> str:
    return f"p#{site_id}#{shard_of(path, PAGE_SHARDS)}"


def page_keys(site_id: str) -> list[str]:
    """Every partition of a site's page lines (the last, unsharded, from before the shards)."""
    return [*(f"p#{site_id}#{n}" for n in range(PAGE_SHARDS)), f"p#{site_id}"]


def rejected_keys(site_id: str, day: str) -> list[str]:
    return [f"n#{site_id}#{day}#{n}" for n in range(REJECTED_SHARDS)]


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
        self._container = int.from_bytes(os.urandom(2), "big")  # one store per container
        self._pages = Coalescer(PAGE_BURST, PAGE_WINDOW)
        self._rejected = Coalescer(REJECTED_BURST, REJECTED_WINDOW)
        self._rejected_shard = self._container % REJECTED_SHARDS
        self._turn = self._container

    def site(self, site_id: str, read: bool = True) -> Site | None:
        """Cached a minute per container: a beacon costs no read for its site.  The ids no site
        has are the first to go when the cache is full, so a stream of made-up ids never makes
        the real sites' beacons read again."""
        cached = self._site_cache.get(site_id)
        if cached and clock.stopwatch() - cached[0] < SITE_CACHE_SECONDS:
            return cached[1]
        if not read or not can_be_id(site_id):
            return None
        item = self._db.get_item(TableName=self._sites, Key={"site_id": {"S": site_id}}).get("Item")
        site = site_of(item) if item else None
        if len(self._site_cache) >= SITE_CACHE_ENTRIES:
            unknown = [key for key, (_, known) in self._site_cache.items() if known is None]
            for key in unknown or list(self._site_cache):
                del self._site_cache[key]
        self._site_cache[site_id] = (clock.stopwatch(), site)
        return site

    def record(self, hit: Hit, owner: str, at: str, expires_at: int | None) -> None:
        """Two writes at most: the hit (one item, < 1 KB) and its page's last-seen line (most
        page views of a busy page write no line: their container adds them to its next one).
        An anonymous day's hits (owner `a#<site>#<day>`) are spread over its shards."""
        if owner.startswith("a#"):
            self._turn += 1
            owner = f"{owner}#{self._turn % ANONYMOUS_SHARDS}"
        item: dict[str, Any] = {
            "pk": {"S": owner},
            "sk": {"S": f"{at}#{hit.visitor_id or '-'}#{clock.ticks_ns() % 10**6:06d}"},
            "kind": {"S": hit.kind},
            "site": {"S": hit.site_id},
            "url": {"S": hit.url},
            "path": {"S": hit.path},
            "at": {"S": at},
        }
        for name, value in (
            ("title", hit.title),
            ("referrer", hit.referrer),
            ("screen", hit.screen),
            ("name", hit.name),
            ("amount", hit.amount),
            ("ip", hit.ip),
            ("bot", hit.bot),
            ("visitor", hit.visitor_id),
        ):
            if value:
                item[name] = {"S": value}
        if hit.utm:
            item["utm"] = {"M": {k: {"S": v} for k, v in hit.utm.items()}}
        if hit.props:
            item["props"] = {"M": {k: {"S": v} for k, v in hit.props.items()}}
        if expires_at:
            item["expires_at"] = {"N": str(expires_at)}
        self._db.put_item(TableName=self._events, Item=item)
        if hit.kind != "pageview" or hit.bot:
            return
        hits = self._pages.add((hit.site_id, hit.path), clock.stopwatch())
        if hits:
            self._db.update_item(
                TableName=self._events,
                Key={"pk": {"S": page_key(hit.site_id, hit.path)}, "sk": {"S": hit.path}},
                UpdateExpression="SET last_hit = :at, last_url = :url ADD hits :n",
                ExpressionAttributeValues={":at": {"S": at}, ":url": {"S": hit.url}, ":n": {"N": str(hits)}},
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
        """Exact while rejections are few; under an attack, one write a second a container."""
        hits = self._rejected.add((site_id, reason, day), clock.stopwatch())
        if not hits:
            return
        shard = self._rejected_shard
        self._db.update_item(
            TableName=self._events,
            Key={"pk": {"S": f"n#{site_id}#{day}#{shard}"}, "sk": {"S": reason}},
            UpdateExpression="ADD hits :n",
            ExpressionAttributeValues={":n": {"N": str(hits)}},
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


def site_item(site: Site) -> dict[str, Any]:
    """The sites table's item for `site` (site_of reads it back)."""
    return {
        "site_id": {"S": site.site_id},
        "name": {"S": site.name},
        "domains": {"L": [{"S": d} for d in site.domains]},
        "secret": {"S": site.secret},
        "consent_mode": {"S": site.consent_mode},
        "created_at": {"S": site.created_at},
    }
