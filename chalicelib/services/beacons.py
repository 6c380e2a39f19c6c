"""Use case: a beacon arrives from the tag.  Validate, classify, store -- fast.

Cost per page view: no read (the site is cached), two writes (the hit and its
page's last-seen line), each item under 1 KB.  Only what this path needs is
imported here, so a cold start stays close to a bare `import boto3`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from chalicelib.domain.bots import bot_reason
from chalicelib.domain.hits import MAX_BODY_BYTES, InvalidHitError, parse_hit, truncate_ip
from chalicelib.domain.limits import TooDeepError, loads
from chalicelib.domain.ratelimit import WindowCounter
from chalicelib.domain.site import Site

if TYPE_CHECKING:  # annotations only: the beacon path loads no other port
    from chalicelib.services.ports import Clock, HitLog

VISITOR_HITS_PER_10S = 30
IP_HITS_PER_MINUTE = 600

IdentifyByLink = Callable[[Site, str, str], str]
"""(site, visitor id, identity token from a mail link) -> the contact id; raises on a bad token."""


class Outcome(NamedTuple):
    """What became of a beacon: `refused` names why not (counted per site), '' when stored;
    `origin` is the page's origin to answer CORS for ('' to reflect nothing)."""

    refused: str = ""
    origin: str = ""


class Beacons:
    def __init__(self, store: HitLog, visitor_ttl_days: int, clock: Clock, identify: IdentifyByLink) -> None:
        self._store = store
        self._ttl = visitor_ttl_days * 86400
        self._clock = clock
        self._identify = identify
        self._per_visitor = WindowCounter(10, clock)
        self._per_second = WindowCounter(1, clock)
        self._per_ip = WindowCounter(60, clock)

    def from_post(self, body: bytes, headers: Mapping[str, str], source_ip: str, method: str) -> Outcome:
        if len(body) > MAX_BODY_BYTES:  # before parsing anything
            return Outcome("too_large")
        return self._receive(body, headers, source_ip, method)

    def from_pixel(self, data: str, headers: Mapping[str, str], source_ip: str, method: str) -> Outcome:
        """`data` is the decoded `d` query parameter of /t.gif: the same JSON as the POST body."""
        raw = data.encode("utf-8")
        if len(raw) > MAX_BODY_BYTES:
            return Outcome("too_large")
        return self._receive(raw, headers, source_ip, method)

    def _receive(self, body: bytes, headers: Mapping[str, str], source_ip: str, method: str) -> Outcome:
        try:
            payload: Any = loads(body)
        except TooDeepError:
            return Outcome("too_deep")
        except ValueError:  # not UTF-8, not JSON
            return Outcome("not_json")
        if not isinstance(payload, dict):
            return Outcome("not_object")
        now = self._clock()
        ip = truncate_ip(source_ip)
        # Every beacon counts against its address, whichever site it names: ids that no site has,
        # sent by the thousand, get no more reads of the sites table than the limit lets through.
        flooding = self._per_ip.add(ip, now) > IP_HITS_PER_MINUTE
        site_id = payload.get("site")
        site = None
        if isinstance(site_id, str) and len(site_id) <= 64:
            site = self._store.site(site_id, read=not flooding)  # flooding: what the cache knows
        if site is None:
            return Outcome("rate_limited" if flooding else "unknown_site")
        at = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
        day = at[:10]
        origin = headers.get("origin")
        if not site.rules.allows_origin(origin):
            self._store.count_rejected(site.site_id, "foreign_origin", day)
            return Outcome("foreign_origin")  # and no CORS header: nothing reflected
        cors = origin or ""
        try:
            hit = parse_hit(payload, site.rules)
        except InvalidHitError as error:
            self._store.count_rejected(site.site_id, error.reason, day)
            return Outcome(error.reason, cors)
        visitor = f"{site.site_id}#{hit.visitor_id}"
        if flooding or (hit.visitor_id and self._per_visitor.add(visitor, now) > VISITOR_HITS_PER_10S):
            self._store.count_rejected(site.site_id, "rate_limited", day)
            return Outcome("rate_limited", cors)
        if headers.get("sec-gpc") == "1" or headers.get("dnt") == "1":
            hit.visitor_id = None  # the browser asked not to be tracked: keep no identifier
        elif site.consent_mode == "required" and payload.get("c") != 1:
            hit.visitor_id = None  # no consent recorded by the page: no identifier either
        speed = self._per_second.add(visitor, now) if hit.visitor_id else 1
        hit.bot = bot_reason(headers.get("user-agent", ""), method, speed)
        hit.ip = ip
        contact_id = self._contact_of(site, hit.visitor_id, payload.get("i"), day) if not hit.bot else None
        if contact_id:
            self._store.record(hit, f"c#{contact_id}", at, None)  # a known person's history stays
        elif hit.visitor_id:
            self._store.record(hit, f"v#{site.site_id}#{hit.visitor_id}", at, int(now) + self._ttl)
        else:
            self._store.record(hit, f"a#{site.site_id}#{day}", at, int(now) + self._ttl)
        return Outcome("", cors)

    def _contact_of(self, site: Site, visitor_id: str | None, link_token: Any, day: str) -> str | None:
        if not visitor_id:
            return None
        if link_token:  # the first page after a click in a Sodate email
            from chalicelib.domain.errors import BadInputError, NotFoundError

            try:
                return self._identify(site, visitor_id, str(link_token))
            except (BadInputError, NotFoundError):
                self._store.count_rejected(site.site_id, "bad_link_token", day)
        return self._store.linked_contact(site.site_id, visitor_id)
