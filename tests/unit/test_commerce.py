"""Purchases, replenishment and RFM: the commerce facts segments are built on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.commerce import (
    RFM_GROUP_NAMES,
    Product,
    parse_purchase,
    products_bought,
    quintile_cuts,
    recency_changes_at,
    replenishment_due_on,
    rfm_bounds,
    rfm_code,
    rfm_group,
    with_purchase,
)
from chalicelib.domain.errors import BadInputError

TODAY = date(2026, 11, 23)


def test_a_purchase_updates_counts_money_dates_and_products():
    contact = {
        "purchase_count": 1,
        "total_spent": Decimal("1200"),
        "last_purchase_date": "2026-10-01",
        "first_purchase_date": "2026-10-01",
    }
    purchase = parse_purchase(
        {"order_id": 7, "total": "980.5", "items": [{"sku": "TEA-100"}, "POT"]},
        "api",
        "2026-11-20T10:00:00+00:00",
    )
    after = with_purchase(contact, purchase)
    assert after["purchase_count"] == 2 and after["total_spent"] == Decimal("2180.5")
    assert (after["first_purchase_date"], after["last_purchase_date"]) == ("2026-10-01", "2026-11-20")
    assert after["products"] == {"TEA-100": "2026-11-20", "POT": "2026-11-20"}
    late = with_purchase(after, parse_purchase({"order_id": 3, "at": "2026-09-01"}, "api", ""))
    assert late["last_purchase_date"] == "2026-11-20" and late["first_purchase_date"] == "2026-09-01"


@pytest.mark.parametrize(
    ("claims", "field"),
    [
        ({"total": 5}, "order_id"),
        ({"order_id": "x", "total": "lots"}, "total"),
        ({"order_id": "x", "total": -1}, "total"),
        ({"order_id": "x", "at": "yesterday"}, "at"),
        ({"order_id": "x", "items": [{"sku": ""}]}, "items[0].sku"),
    ],
)
def test_bad_purchases_name_the_field(claims, field):
    with pytest.raises(BadInputError) as raised:
        parse_purchase(claims, "api", "2026-11-23T00:00:00+00:00")
    assert str(raised.value).startswith(field + ":")


def test_replenishment_falls_due_a_cycle_after_the_last_purchase():
    tea = Product("TEA-100", "Tea", cycle_days=30)
    bought = products_bought({"last_product": "TEA-100", "last_purchase_date": "2026-10-20"})
    assert replenishment_due_on(tea, bought["TEA-100"]) == date(2026, 11, 19)
    assert replenishment_due_on(Product("POT", "Pot"), TODAY) is None
    newer = products_bought(
        {"products": {"TEA-100": "2026-11-10"}, "last_product": "TEA-100", "last_purchase_date": "2026-10-20"}
    )
    assert newer == {"TEA-100": date(2026, 11, 10)}


def test_rfm_scores_against_quintiles_and_names_groups():
    buyers = [
        (days, orders, spent)
        for days, orders, spent in zip(
            range(1, 101), [1] * 50 + list(range(1, 51)), range(100, 10100, 100), strict=True
        )
    ]
    bounds = rfm_bounds(buyers, "2026-11-23")
    assert bounds.recency_days == (20, 40, 60, 80)
    best = {"purchase_count": 50, "total_spent": 10000, "last_purchase_date": "2026-11-22"}
    worst = {"purchase_count": 1, "total_spent": 100, "last_purchase_date": "2026-08-01"}
    assert rfm_code(bounds, best, TODAY) == "555" and rfm_group("555") == "champions"
    assert rfm_code(bounds, worst, TODAY) == "111" and rfm_group("111") == "lost"
    assert rfm_code(bounds, {"purchase_count": 0}, TODAY) == "" and rfm_group("") == ""
    assert rfm_code(None, best, TODAY) == ""
    # The day recency drops from 5 to 4: 21 days after the last purchase.
    assert recency_changes_at(bounds, date(2026, 11, 22), TODAY) == date(2026, 12, 13)


@given(st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=200))
def test_quintile_cuts_split_the_population_in_fifths(values):
    values.sort()
    cuts = quintile_cuts(values)
    assert list(cuts) == sorted(cuts)
    for k, cut in enumerate(cuts, start=1):
        at_or_below = sum(1 for v in values if v <= cut)
        assert at_or_below >= len(values) * k / 5, "the k-th cut has at least k fifths at or below it"


@given(st.tuples(*[st.integers(min_value=1, max_value=5)] * 3))
def test_every_rfm_code_has_a_named_group(code):
    assert rfm_group("".join(map(str, code))) in RFM_GROUP_NAMES


@given(
    when=st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2025, 12, 30), timezones=st.none() | st.timezones()
    ),
    form=st.sampled_from(["date", "minutes", "seconds", "micro", "zulu"]),
)
def test_every_accepted_purchase_time_is_stored_as_a_utc_instant_that_compares_with_any_other(when, form):
    written = {
        "date": when.date().isoformat(),
        "minutes": when.isoformat(timespec="minutes"),
        "seconds": when.isoformat(timespec="seconds"),
        "micro": when.isoformat(timespec="microseconds"),
        "zulu": when.replace(tzinfo=None).isoformat(timespec="seconds") + "Z",
    }[form]
    purchase = parse_purchase({"order_id": "A-1", "total": "100", "at": written}, "api", "2026-01-01")
    stored = datetime.fromisoformat(purchase.at)
    assert stored.utcoffset() == timedelta(0)
    assert abs(stored - datetime(2026, 1, 1, tzinfo=UTC)) >= timedelta(0)  # aware: comparable with now
    assert purchase.day == written[:10]  # the shop's own calendar day


@pytest.mark.parametrize(
    "written", ["2026-13-01", "yesterday", "2026-12-02T25:00", "", "2026-12-02T10:00+99:00"]
)
def test_a_purchase_time_that_names_no_instant_is_refused_by_name(written):
    with pytest.raises(BadInputError, match="at: expected an ISO date or time"):
        parse_purchase({"order_id": "A-1", "at": written}, "api", "2026-01-01")
