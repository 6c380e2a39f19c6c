"""Use case: an anonymous visitor becomes a known contact -- only on proof.

Proof is one of: a signed, expiring, single-use token from a link in a Sodate
email (Sodate's link key) -- a click, or the way back from confirming a sign-up,
which names the one browser it may identify; or a token from the site's own
backend (the site's secret).  A form is a claim, not proof: it never joins a
browser to anyone (signups.py asks the mailbox first).  On identification the
visitor's anonymous history moves to the contact, and later hits follow.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.contact import Source, create
from chalicelib.domain.emails import InvalidEmailError, normalize_email
from chalicelib.domain.errors import BadInputError, NotFoundError
from chalicelib.domain.hits import Hit, valid_visitor_id
from chalicelib.domain.rows import ContactRow
from chalicelib.domain.site import Site
from chalicelib.domain.tokens import (
    BROWSER_IDENTITY,
    IDENTITY,
    InvalidTokenError,
    identity_token,
    sign,
    verify,
)
from chalicelib.services.ports import Clock, ContactDirectory, Secret, SiteDirectory

LINK_TOKEN_DAYS = 30
_TEXT_FIELDS = ("name", "company", "phone")


class Identity:
    def __init__(
        self,
        events: SiteDirectory,
        contacts: ContactDirectory,
        link_key: Secret,
        clock: Clock,
        ttl_days: int = 90,
    ) -> None:
        self._ttl_days = ttl_days
        self._events = events
        self._contacts = contacts
        self._link_key = link_key
        self._clock = clock

    def link_token(self, contact_id: str, days: int = LINK_TOKEN_DAYS) -> str:
        """What a Sodate email puts in its links as ?sodate_t=..."""
        return identity_token(contact_id, self._link_key(), int(self._clock()) + days * 86400)

    def browser_token(self, contact_id: str, visitor_id: str, seconds: int = 3600) -> str:
        """An identity token that identifies this one browser (the one a sign-up came from)."""
        claims = {"c": contact_id, "n": os.urandom(9).hex(), "v": visitor_id}
        return sign(claims, self._link_key(), int(self._clock()) + seconds)

    def from_email_link(self, site: Site, visitor_id: str, token: str) -> str:
        claims = verify(token, self._link_key(), self._clock(), (IDENTITY, BROWSER_IDENTITY))
        if claims.get("v", visitor_id) != visitor_id:
            raise InvalidTokenError("for_another_browser")  # a confirmation forwarded or opened elsewhere
        contact_id = str(claims["c"])
        if self._contacts.find_by_id(contact_id) is None:
            raise NotFoundError("The link's contact no longer exists.")
        if not self._events.spend(f"n#{claims['n']}", int(claims["exp"])):
            raise InvalidTokenError("used")  # a replay (a forwarded link, a second browser) identifies nobody
        self._attach(site.site_id, visitor_id, contact_id)
        return contact_id

    def from_site_backend(self, site: Site, token: str) -> dict[str, Any]:
        """The site's server vouches: 'visitor v is the logged-in user with this email'."""
        claims = verify(token, site.secret, self._clock())
        visitor_id, email = claims.get("v"), claims.get("email")
        if not valid_visitor_id(visitor_id) or not isinstance(email, str):
            raise BadInputError("The token must carry 'v' (the visitor id) and 'email'.")
        contact_id = self.contact_for(site, email, {})
        moved = self._attach(site.site_id, str(visitor_id), contact_id)
        return {"contact_id": contact_id, "history_moved": moved}

    def from_form(self, site: Site, body: dict[str, Any]) -> dict[str, Any]:
        email = body.get("email")
        if not isinstance(email, str):
            raise BadInputError("The form needs an 'email'.")
        fields = {
            k: str(body[k])[:200] for k in _TEXT_FIELDS if isinstance(body.get(k), str) and body[k].strip()
        }
        normalized = _normalized(email)
        if self._contacts.is_suppressed(normalized):
            return {"accepted": True}
        self._create(site, normalized, fields)  # a known address is not changed by a claim
        self.record_submission(site, body)
        return {"accepted": True}

    def record_submission(self, site: Site, body: dict[str, Any]) -> None:
        """The submission is behaviour of this browser (scored like a page view): it goes to the
        person the browser is linked to by proof, or stays with the anonymous visitor."""
        if not valid_visitor_id(body.get("v")):
            return
        visitor_id = str(body["v"])
        now = self._clock()
        form_name = body.get("form") if isinstance(body.get("form"), str) and body["form"].strip() else "form"
        path = body.get("path") if isinstance(body.get("path"), str) and body["path"].startswith("/") else ""
        hit = Hit(site.site_id, visitor_id, "form", "", str(path)[:512], name=str(form_name).strip()[:64])
        at = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
        contact_id = self._events.linked_contact(site.site_id, visitor_id)
        if contact_id:
            self._events.record(hit, f"c#{contact_id}", at, None)
        else:
            self._events.record(hit, f"v#{site.site_id}#{visitor_id}", at, int(now) + self._ttl_days * 86400)

    def contact_for(self, site: Site, email: str, fields: dict[str, Any]) -> str:
        """The vouched-for person: found by email, or created."""
        normalized = _normalized(email)
        existing = self._contacts.find_by_email(normalized)
        if existing is not None:
            return str(existing["contact_id"])
        if self._contacts.is_suppressed(normalized):
            raise BadInputError("This address was erased; it is not recorded again.")
        created = self._create(site, normalized, fields)
        if created is None:  # someone created them a moment ago
            found = self._contacts.find_by_email(normalized)
            assert found is not None
            return str(found["contact_id"])
        return created

    def _create(self, site: Site, normalized: str, fields: dict[str, Any]) -> str | None:
        """A new, not-yet-consented contact; None when the address is taken (the write is conditional)."""
        now = datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="seconds")
        row = ContactRow(0, normalized, dict(fields), {})
        contact = create(row, os.urandom(16).hex(), Source(f"site:{site.site_id}", now)).contact
        return str(contact["contact_id"]) if self._contacts.create_if_absent(contact) else None

    def _attach(self, site_id: str, visitor_id: str, contact_id: str) -> int:
        now = datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="milliseconds")
        self._events.link(site_id, visitor_id, contact_id, now)
        return self._events.move_history(site_id, visitor_id, contact_id)


def _normalized(email: str) -> str:
    try:
        return normalize_email(email)
    except InvalidEmailError as error:
        raise BadInputError(f"email: {error.reason}") from None
