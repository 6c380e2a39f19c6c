"""A beacon from the tag, validated: what a site may tell us about a page view.

Everything is hostile: sizes are capped, the page must be on the site's own
domains, text is kept as inert strings (never markup), and the visitor's IP
is truncated before anything is stored.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from .limits import BEACON_BYTES, BEACON_PROPS

MAX_BODY_BYTES = BEACON_BYTES
KINDS = frozenset({"pageview", "event", "conversion"})
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
_UTM = frozenset(UTM_KEYS)
# scheme://host[:port]/path?query#fragment with nothing urlsplit would treat specially
_PLAIN_URL = re.compile(
    r"(https?)://([A-Za-z0-9.-]*(?::[0-9]*)?)(/[^?#\x00-\x20\x7f]*)?(?:\?([^#\x00-\x20\x7f]*))?(?:#[^\x00-\x20\x7f]*)?\Z",
    re.I,
)
_IPV4 = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\Z")
_VISITOR = re.compile(r"[A-Za-z0-9_-]{8,64}\Z")
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}\Z")
_LIMITS = {"url": 512, "title": 200, "referrer": 300, "utm": 100, "prop": 100}
_MAX_PROPS = BEACON_PROPS


class InvalidHitError(ValueError):
    """`status` is the HTTP answer (400, 403, 404, 413); `reason` is counted per site."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class SiteRules:
    site_id: str
    domains: tuple[str, ...]

    def owns(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == d or host.endswith("." + d) for d in self.domains)

    def allows_origin(self, origin: str | None) -> bool:
        if not origin:
            return True  # sendBeacon and <img> from the page itself may send none
        return _origin_allowed(self.domains, origin)


@lru_cache(maxsize=4096)
def _origin_allowed(domains: tuple[str, ...], origin: str) -> bool:
    """Origins repeat on every hit from a site, so the verdict is cached."""
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and SiteRules("", domains).owns(parts.hostname or "")


@dataclass(slots=True)
class Hit:
    site_id: str
    visitor_id: str | None  # None when the browser asked not to be tracked
    kind: str
    url: str
    path: str
    title: str = ""
    referrer: str = ""
    utm: dict[str, str] = field(default_factory=dict)
    screen: str = ""
    name: str = ""  # event or conversion name
    props: dict[str, str] = field(default_factory=dict)
    amount: str = ""  # conversions: exact decimal as text
    ip: str = ""
    bot: str | None = None


def valid_visitor_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_VISITOR.match(value))


def parse_hit(payload: Any, rules: SiteRules) -> Hit:
    if not isinstance(payload, dict):
        raise InvalidHitError(400, "not_an_object", "The beacon must be a JSON object.")
    kind = payload.get("k", "pageview")
    if kind not in KINDS:
        raise InvalidHitError(400, "bad_kind", f"k must be one of {sorted(KINDS)}.")
    url = _without_identity(_text(payload.get("u"), 2048))
    scheme, host, path, query = _page(url)
    if scheme not in ("http", "https") or not host:
        raise InvalidHitError(400, "bad_url", "u must be the page's http(s) URL.")
    if not rules.owns(host):
        raise InvalidHitError(403, "foreign_url", "The page is not on one of the site's domains.")
    visitor = payload.get("v")
    if visitor is not None and not (isinstance(visitor, str) and _VISITOR.match(visitor)):
        raise InvalidHitError(400, "bad_visitor", "v must be 8-64 letters, digits, '-' or '_'.")
    hit = Hit(
        site_id=rules.site_id,
        visitor_id=visitor,
        kind=kind,
        url=url[: _LIMITS["url"]],
        path=(path or "/")[: _LIMITS["url"]],
        title=_text(payload.get("t"), _LIMITS["title"]),
        referrer=_without_identity(_text(payload.get("r"), 2048))[: _LIMITS["referrer"]],
        utm=_utm(query) if "utm_" in query else {},
        screen=_text(payload.get("s"), 20),
    )
    if kind != "pageview":
        name = payload.get("n")
        if not (isinstance(name, str) and _NAME.match(name)):
            raise InvalidHitError(400, "bad_name", "n (the event name) must be 1-64 of A-Z a-z 0-9 _ . : -")
        hit.name = name
        hit.props = _props(payload.get("p"))
    if kind == "conversion" and payload.get("a") is not None:
        hit.amount = _amount(payload.get("a"))
    return hit


def _page(url: str) -> tuple[str, str, str, str]:
    """(scheme, host, path, query) as urlsplit gives them.  A plain http(s) address -- nearly
    every beacon's -- is split by one regular expression; anything else (user info, an IPv6 host,
    spaces or control characters) goes through urlsplit, and one it cannot split has no host."""
    plain = _PLAIN_URL.match(url)
    if plain:
        scheme, netloc, path, query = plain.groups()
        return scheme.lower(), netloc.partition(":")[0].lower(), path or "", query or ""
    try:
        parts = urlsplit(url)
        return parts.scheme, parts.hostname or "", parts.path, parts.query
    except ValueError:  # an unbalanced IPv6 bracket, a bad port
        return "", "", "", ""


def _utm(query: str) -> dict[str, str]:
    """The campaign's utm_* values (the last of each name, as the page reads them), capped; only
    these pairs are decoded -- a query's other pairs cost nothing."""
    found: dict[str, str] = {}
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if name in _UTM and value:
            found[name] = unquote_plus(value)[: _LIMITS["utm"]]
    return {k: found[k] for k in UTM_KEYS if found.get(k)}


def _without_identity(url: str) -> str:
    """The address without a mail link's identity token (`sodate_t`): it is a bearer token for a
    person, so it is never stored, in the page's URL or in the next page's referrer."""
    if "sodate_t=" not in url:
        return url
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "sodate_t"]
    return urlunsplit(parts._replace(query=urlencode(kept)))


def _text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidHitError(400, "bad_field", "Beacon fields must be strings.")
    value = value[:limit]
    return value if value.isprintable() else "".join(c for c in value if c.isprintable())


def _props(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > _MAX_PROPS:
        raise InvalidHitError(400, "bad_props", f"p must be an object of at most {_MAX_PROPS} values.")
    props = {}
    for key, item in value.items():
        if not _NAME.match(str(key)) or isinstance(item, (dict, list)):
            raise InvalidHitError(400, "bad_props", "p holds flat name: value pairs.")
        props[str(key)] = _text(str(item), _LIMITS["prop"])
    return props


def _amount(value: Any) -> str:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise InvalidHitError(400, "bad_amount", "a must be a number.") from None
    if not amount.is_finite() or amount < 0 or amount > Decimal("1e12"):
        raise InvalidHitError(400, "bad_amount", "a must be a plausible amount.")
    return format(amount, "f")  # fixed-point: "100000", never "1E+5"


def truncate_ip(address: str) -> str:
    """IPv4 keeps /24, IPv6 keeps /48: enough for rate limits and region, not a person."""
    four = _IPV4.match(address)
    if four:  # the common case, fast
        a, b, c, d = map(int, four.groups())
        if a <= 255 and b <= 255 and c <= 255 and d <= 255:
            return f"{a}.{b}.{c}.0"
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return ""
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)
