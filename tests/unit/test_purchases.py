"""Orders a shop's server reports (GIVEN / WHEN / THEN): each recorded once, also when the same
buyer's orders arrive at one moment and keep changing them under each other; an order nobody
could have placed is refused by the field that says so."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from chalice.app import ConflictError as HttpConflict

from chalicelib.domain.commerce import Purchase, parse_purchase
from chalicelib.domain.errors import BadInputError, ConflictError
from chalicelib.domain.tokens import sign
from chalicelib.services.identity import Identity
from chalicelib.services.purchases import ATTEMPTS, BACKOFF_S, Purchases
from chalicelib.web.requests import answer
from tests.fakes import FakeClock, MemoryPeople, MemorySites
from tests.unit.test_identity_service import LINK_KEY, SHOP

NOW = "2026-12-07T09:00:00+00:00"


class Racing(MemoryPeople):
    """The buyer's other orders land first, `losses` times: each moves their record on."""

    def __init__(self, losses: int) -> None:
        super().__init__()
        self.losses = losses

    def record_purchase(self, contact: Any, purchase: Purchase, at: str) -> bool:
        if self.losses:
            self.losses -= 1
            stored = self.contacts[contact["email"]]
            stored["purchase_count"] = int(stored.get("purchase_count") or 0) + 1
        return super().record_purchase(contact, purchase, at)


def shop(losses: int) -> tuple[Purchases, Racing, list[float]]:
    clock, sites, people, waits = FakeClock(), MemorySites(), Racing(losses), []
    sites.put_site(SHOP)
    people.add("mio@example.com", "c-mio", status="subscribed")
    identity = Identity(sites, people, lambda: LINK_KEY, clock, ttl_days=90)
    return Purchases(identity, people, clock, waits.append), people, waits


def order(purchases: Purchases, order_id: str) -> dict[str, Any]:
    claims = {"email": "mio@example.com", "order_id": order_id, "total": 1200}
    return purchases.from_site_backend(SHOP, sign(claims, SHOP.secret, 2_000_000_000))


def test_an_order_that_lost_races_to_the_buyers_other_orders_is_recorded_after_waits_that_grow():
    purchases, people, waits = shop(losses=ATTEMPTS - 1)

    assert order(purchases, "A-1")["recorded"] is True

    assert people.contacts["mio@example.com"]["purchase_count"] == ATTEMPTS, "theirs and this one"
    assert len(waits) == ATTEMPTS - 1
    assert all(0 <= wait <= BACKOFF_S * 2**n for n, wait in enumerate(waits)), waits


def test_an_order_that_never_gets_in_is_a_409_that_says_to_send_it_again():
    purchases, people, waits = shop(losses=10 * ATTEMPTS)

    with pytest.raises(HttpConflict) as refused:
        answer(order, purchases, "A-1")

    assert refused.value.STATUS_CODE == 409 and "send it again" in str(refused.value)
    assert not any("#order#A-1" in key for key in people.timelines.get("c-mio", {})), "nothing half-kept"
    assert len(waits) == ATTEMPTS - 1
    with pytest.raises(ConflictError):  # the use case's own error, for any caller but the API
        order(purchases, "A-2")


@pytest.mark.parametrize(
    ("claims", "field"),
    [
        ({"at": "0001-01-01"}, "at"),  # before anyone sold anything online
        ({"at": "9999-12-31T23:59:59+14:00"}, "at"),  # it would stay the newest order for good
        ({"at": "2026-12-09"}, "at"),  # the day after tomorrow
        ({"at": "0001-01-01T00:00:00+09:00"}, "at"),  # before the first instant there is
        ({"total": "1e5"}, "total"),  # no shop's books write an amount so
        ({"total": " 12,00"}, "total"),
        ({"order_id": "A-\ud800"}, "order_id"),  # half a surrogate pair: no character at all
        ({"order_id": "A\x00"}, "order_id"),
        ({"items": [{"sku": "TEA\x1b[31m"}]}, "items[0].sku"),
    ],
)
def test_an_order_nobody_could_have_placed_is_refused_by_its_field(claims: dict[str, Any], field: str):
    with pytest.raises(BadInputError, match=rf"^{field.replace('[', '.').replace(']', '.')}:"):
        parse_purchase({"order_id": "A-1", **claims}, "api", NOW)


def test_an_order_of_the_shops_day_ahead_of_utc_and_a_plain_amount_are_taken_as_written():
    purchase = parse_purchase({"order_id": "A-1", "total": "1200.50", "at": "2026-12-08"}, "api", NOW)
    assert (purchase.total, purchase.day) == (Decimal("1200.50"), "2026-12-08")
