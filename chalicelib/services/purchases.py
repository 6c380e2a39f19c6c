"""Purchases a shop's server reports, signed with the site secret; the order id makes a resend harmless."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.commerce import parse_purchase
from chalicelib.domain.errors import BadInputError, ConflictError
from chalicelib.domain.site import Site
from chalicelib.domain.tokens import verify
from chalicelib.services.identity import Identity
from chalicelib.services.ports import Clock, ContactRepository

ATTEMPTS = 8  # a buyer's orders reported at the same moment each get theirs in
BACKOFF_S = 0.01  # the first wait's bound; it doubles each time (all eight: at most 1.3 s)


class Purchases:
    def __init__(
        self, identity: Identity, state: ContactRepository, clock: Clock, pause: Callable[[float], None]
    ) -> None:
        self._identity = identity
        self._state = state
        self._clock = clock
        self._pause = pause

    def from_site_backend(self, site: Site, token: Any) -> dict[str, Any]:
        if not isinstance(token, str):
            raise BadInputError("token: the purchase must come as a token signed with the site secret.")
        claims = verify(token, site.secret, self._clock())
        email = claims.get("email")
        if not isinstance(email, str):
            raise BadInputError("email: the purchase must name the buyer's email.")
        now = datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="seconds")
        purchase = parse_purchase(claims, "api", now, site.site_id)
        contact_id = self._identity.contact_for(site, email, {})
        for attempt in range(ATTEMPTS):
            contact = self._state.by_id(contact_id)
            if contact is None:
                raise BadInputError("email: this buyer was erased a moment ago.")
            try:
                recorded = self._state.record_purchase(contact, purchase, now)
            except ConflictError:  # another order of theirs changed them first: read them again
                if attempt == ATTEMPTS - 1:
                    raise ConflictError(
                        "The buyer's record kept changing under this order; send it again (it is "
                        "recorded once, by its order_id)."
                    ) from None
                self._pause(random.uniform(0, BACKOFF_S * 2**attempt))  # apart, not in step again
                continue
            return {"contact_id": contact_id, "order_id": purchase.order_id, "recorded": recorded}
        raise AssertionError("unreachable")
