"""A website that carries the tag: where hits may come from, and its secret."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .errors import BadInputError
from .hits import SiteRules

CONSENT_MODES = ("none", "required")  # "required": no identifier until the page says the visitor agreed
_HOST = re.compile(
    r"(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\Z"
)


class InvalidSiteError(BadInputError):
    pass


@dataclass(frozen=True)
class Site:
    site_id: str
    name: str
    domains: tuple[str, ...]
    secret: str
    consent_mode: str
    created_at: str

    @cached_property
    def rules(self) -> SiteRules:
        """Made once per site (the site is cached per container): every beacon checks them."""
        return SiteRules(self.site_id, self.domains)

    def public(self) -> dict[str, Any]:
        """What the admin API shows; the secret only once, when the site is created."""
        return {
            "site_id": self.site_id,
            "name": self.name,
            "domains": list(self.domains),
            "consent_mode": self.consent_mode,
            "created_at": self.created_at,
        }


def new_site(body: Any, created_at: str, site_id: str | None = None) -> Site:
    if not isinstance(body, dict):
        raise InvalidSiteError('Send a JSON object: {"name": ..., "domains": [...]}.')
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise InvalidSiteError("name must be 1-100 characters.")
    domains = body.get("domains")
    if not isinstance(domains, list) or not 1 <= len(domains) <= 20:
        raise InvalidSiteError('domains must be a list of 1-20 host names, e.g. ["shop.example.jp"].')
    clean = []
    for domain in domains:
        host = str(domain).strip().lower().rstrip(".")
        if not _HOST.match(host):
            raise InvalidSiteError(f"'{domain}' is not a host name (no scheme, path or port).")
        clean.append(host)
    mode = body.get("consent_mode", "none")
    if mode not in CONSENT_MODES:
        raise InvalidSiteError(f"consent_mode must be one of {list(CONSENT_MODES)}.")
    return Site(
        site_id=site_id or "s_" + secrets.token_hex(8),
        name=name.strip(),
        domains=tuple(dict.fromkeys(clean)),
        secret=secrets.token_urlsafe(32),
        consent_mode=mode,
        created_at=created_at,
    )
