"""Orders on the emulator.  A buyer's orders reported by the shop's server at the same moment:
each is an optimistic write of the buyer's record, so most lose a race at first; every one still
gets in once, and none is answered with a 500.  An order id is its shop's: another shop's order
1001 is another order, and an order id the tag (which any page can call) named for someone else
does not stop the shop's signed order for its buyer."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from chalicelib import bootstrap
from chalicelib.domain.site import Site
from chalicelib.domain.tokens import sign
from tests.aws.test_beacons import auth, send
from tests.aws.test_identity import contact_by_email, pageview
from tests.aws.test_scoring_segments import identify, report_purchase

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


def test_two_shops_order_1001_are_two_orders(aws, api, site):
    cafe = api.http.post(
        "/admin/sites",
        body=b'{"name": "Cafe", "domains": ["cafe.example.jp"]}',
        headers={**auth(aws), "Content-Type": "application/json"},
    ).json_body
    taro = {"email": "taro@example.jp", "order_id": "1001", "total": 5000}
    hanako = {"email": "hanako@example.jp", "order_id": "1001", "total": 8000}
    assert report_purchase(api, site, taro).json_body["recorded"] is True
    assert report_purchase(api, cafe, hanako).json_body["recorded"] is True
    assert report_purchase(api, cafe, hanako).json_body["recorded"] is False, "a resend is still one"
    assert contact_by_email(api, aws, "hanako@example.jp")["total_spent"] == 8000


def test_an_order_id_the_tag_named_for_someone_else_does_not_stop_the_shops_signed_order(
    aws, api, site, streams
):
    identify(api, site, "device-mal1", "mallory@example.jp")  # signed up with her own address
    forged = {**pageview(site, "device-mal1", "/thanks"), "k": "conversion", "n": "purchase", "a": "0"}
    assert send(api, {**forged, "p": {"order_id": "1002"}}).status_code == 204
    identify(api, site, "device-aoi1", "aoi@example.jp")  # the real buyer, whose page also says so
    bought = {**pageview(site, "device-aoi1", "/thanks"), "k": "conversion", "n": "purchase", "a": "4000"}
    assert send(api, {**bought, "p": {"order_id": "1003"}}).status_code == 204
    streams()

    signed = {"email": "aoi@example.jp", "order_id": "1002", "total": 6000}
    assert report_purchase(api, site, signed).json_body["recorded"] is True
    again = {"email": "aoi@example.jp", "order_id": "1003", "total": 4000}
    assert report_purchase(api, site, again).json_body["recorded"] is False, "her tag said 1003 already"
    aoi = contact_by_email(api, aws, "aoi@example.jp")
    assert (aoi["purchase_count"], aoi["total_spent"]) == (2, 10000)
