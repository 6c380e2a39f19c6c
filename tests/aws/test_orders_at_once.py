"""A buyer's orders reported by the shop's server at the same moment, on the emulator: each is
an optimistic write of the buyer's record, so most lose a race at first; every one still gets
in once, and none is answered with a 500."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from chalicelib import bootstrap
from chalicelib.domain.site import Site
from chalicelib.domain.tokens import sign

AT_ONCE = 16


def test_sixteen_orders_of_one_buyer_at_once_are_each_recorded_once(aws, api, site):
    shop: Site = bootstrap.sites().find(site["site_id"])
    purchases = bootstrap.purchases()

    start = threading.Barrier(AT_ONCE)

    def order(n: int, together: bool = False) -> bool:
        if together:
            start.wait(timeout=30)
        claims = {"email": "taro@example.jp", "order_id": f"T-{n}", "total": 100 + n}
        recorded: bool = purchases.from_site_backend(
            shop, sign(claims, site["secret"], int(time.time()) + 300)
        )["recorded"]
        return recorded

    purchases.from_site_backend(
        shop, sign({"email": "taro@example.jp", "order_id": "T-0"}, site["secret"], int(time.time()) + 300)
    )
    with ThreadPoolExecutor(AT_ONCE) as pool:
        recorded = list(pool.map(lambda n: order(n, together=True), range(1, AT_ONCE + 1)))

    assert recorded == [True] * AT_ONCE
    taro = bootstrap.contact_state().by_email("taro@example.jp")
    assert taro is not None
    assert (taro["purchase_count"], taro["total_spent"]) == (
        AT_ONCE + 1,
        sum(100 + n for n in range(1, AT_ONCE + 1)),
    )
    assert not any(order(n) for n in (1, AT_ONCE)), "a resend records nothing"
