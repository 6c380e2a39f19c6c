"""Purchases a shop's server reports, signed with the site secret; the order id makes a resend harmless."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.commerce import parse_purchase
from chalicelib.domain.errors import BadInputError
from chalicelib.domain.site import Site
from chalicelib.domain.tokens import verify
from chalicelib.services import identity, wiring
from chalicelib.store.contact_state import ConflictError

ATTEMPTS = 4


def from_site_backend(site: Site, token: Any, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    if not isinstance(token, str):
        raise BadInputError("token: the purchase must come as a token signed with the site secret.")
    claims = verify(token, site.secret, clock())
    email = claims.get("email")
    if not isinstance(email, str):
        raise BadInputError("email: the purchase must name the buyer's email.")
    now = datetime.fromtimestamp(clock(), UTC).isoformat(timespec="seconds")
    purchase = parse_purchase(claims, "api", now)
    contact_id = identity.identity().contact_for(site, email, {})
    state = wiring.contact_state()
    for attempt in range(ATTEMPTS):
        contact = state.by_id(contact_id)
        if contact is None:
            raise BadInputError("email: this buyer was erased a moment ago.")
        try:
            recorded = state.record_purchase(contact, purchase, now)
        except ConflictError:
            if attempt == ATTEMPTS - 1:
                raise
            continue
        return {"contact_id": contact_id, "order_id": purchase.order_id, "recorded": recorded}
    raise AssertionError("unreachable")
