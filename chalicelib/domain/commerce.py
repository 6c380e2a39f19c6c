"""What a person bought, and what that says: customer stage, replenishment, RFM.

The catalogue gives each product an optional consumption cycle (a 30-day bag
of coffee), the products it upgrades to and its options.  RFM scores are
quintiles against the population's boundaries, which a scheduled job computes
(per-contact evaluation never scans); 5 is best on each axis.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from .days import iso_day, moment
from .errors import BadInputError

EARLIEST_YEAR = 1970  # an order from before is a typo ('0001-01-01'), as is one from tomorrow:
AHEAD = timedelta(days=1)  # (a shop's own day may run ahead of UTC by at most 14 hours)
_PLAIN_DECIMAL = re.compile(r"[0-9]{1,15}(\.[0-9]{1,6})?")
_UNPRINTABLE = "expected printable text (no control characters, no half of a surrogate pair)"


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    cycle_days: int | None = None
    upgrades: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


Catalogue = Mapping[str, Product]


def products_bought(contact: Mapping[str, Any]) -> dict[str, date]:
    """SKU -> the last day this person bought it (orders, plus an import's 'last product')."""
    return products_bought_by(contact, last_purchase_day(contact))


def last_purchase_day(contact: Mapping[str, Any]) -> date | None:
    return iso_day(contact.get("last_purchase_date"))


def products_bought_by(contact: Mapping[str, Any], last_day: date | None) -> dict[str, date]:
    """products_bought(), given the contact's last_purchase_day() (read once by evaluation)."""
    bought: dict[str, date] = {}
    for sku, day in (contact.get("products") or {}).items():
        parsed = iso_day(day)
        if parsed:
            bought[sku] = parsed
    last = contact.get("last_product")
    if isinstance(last, str) and last and last_day and (last not in bought or bought[last] < last_day):
        bought[last] = last_day
    return bought


def orders(contact: Mapping[str, Any]) -> int:
    count = contact.get("purchase_count")
    return int(count) if isinstance(count, (int, Decimal)) and not isinstance(count, bool) else 0


def replenishment_due_on(product: Product, last_bought: date) -> date | None:
    return last_bought + timedelta(days=product.cycle_days) if product.cycle_days else None


# --- purchases ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Purchase:
    order_id: str
    at: str  # ISO time, in UTC (what the timeline sorts by)
    total: Decimal
    skus: tuple[str, ...]
    source: str  # api, tag, import
    day: str = ""  # the date as the shop wrote it (its own calendar day)
    site: str = ""  # the shop that reported it: an order id is unique within its shop only


def parse_purchase(claims: Mapping[str, Any], source: str, default_at: str, site: str = "") -> Purchase:
    """A purchase from the signed endpoint or the tag; every error names the field."""
    order_id = claims.get("order_id")
    if not isinstance(order_id, (str, int)) or isinstance(order_id, bool) or not str(order_id).strip():
        raise BadInputError("order_id: every purchase needs the shop's order id (it makes resending safe)")
    if len(str(order_id)) > 100:
        raise BadInputError("order_id: at most 100 characters")
    if not str(order_id).isprintable():
        raise BadInputError(f"order_id: {_UNPRINTABLE}")
    total = _amount(claims.get("total", 0))
    written = claims.get("at", default_at)
    when = moment(written)
    if when is None or iso_day(written) is None:
        raise BadInputError(f"at: expected an ISO date or time, got {written!r}")
    latest = moment(default_at)
    if when.year < EARLIEST_YEAR or (latest is not None and when > latest + AHEAD):
        raise BadInputError(
            f"at: {written!r} is not a time an order was placed (from {EARLIEST_YEAR} to now)"
        )
    at = when.isoformat(timespec="milliseconds")
    items = claims.get("items", [])
    if not isinstance(items, list) or len(items) > 100:
        raise BadInputError("items: expected a list of at most 100 items such as {sku: COFFEE-200}")
    skus = []
    for i, item in enumerate(items):
        sku = item.get("sku") if isinstance(item, Mapping) else item
        if not isinstance(sku, str) or not sku.strip() or len(sku) > 64:
            raise BadInputError(f"items[{i}].sku: expected a product code of 1-64 characters")
        if not sku.isprintable():
            raise BadInputError(f"items[{i}].sku: {_UNPRINTABLE}")
        skus.append(sku.strip())
    day = str(written)[:10]
    return Purchase(str(order_id).strip(), at, total, tuple(dict.fromkeys(skus)), source, day, site)


def _amount(given: Any) -> Decimal:
    """An order's total, exact: a JSON number, or a plain decimal written as text ('1200',
    '1200.50'; not '1e5', which no shop's books say)."""
    if isinstance(given, bool) or not isinstance(given, (int, float, str)):
        raise BadInputError(f"total: expected an amount, got {given!r}")
    if isinstance(given, str) and not _PLAIN_DECIMAL.fullmatch(given.strip()):
        raise BadInputError(f"total: expected an amount such as 1200 or 1200.50, got {given[:40]!r}")
    try:
        total = Decimal(str(given).strip())
    except InvalidOperation:
        raise BadInputError(f"total: expected an amount, got {given!r}") from None
    if not total.is_finite() or not Decimal(0) <= total < Decimal(10) ** 12:
        raise BadInputError("total: expected an amount from 0")
    return total


def with_purchase(contact: Mapping[str, Any], purchase: Purchase) -> dict[str, Any]:
    """The commerce fields of `contact` after one more order (order ids are checked by the caller)."""
    day = purchase.day or purchase.at[:10]
    products = dict(contact.get("products") or {})
    for sku in purchase.skus:
        if products.get(sku, "") < day:
            products[sku] = day
    spent = contact.get("total_spent")
    first, last = contact.get("first_purchase_date"), contact.get("last_purchase_date")
    return {
        "purchase_count": orders(contact) + 1,
        "total_spent": (spent if isinstance(spent, Decimal) else Decimal(str(spent or 0))) + purchase.total,
        "first_purchase_date": min(first, day) if isinstance(first, str) and first else day,
        "last_purchase_date": max(last, day) if isinstance(last, str) and last else day,
        "products": products,
    }


# --- RFM ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RfmBounds:
    """Quintile boundaries among buyers: 4 cut points per axis, ascending."""

    recency_days: tuple[float, ...]
    frequency: tuple[float, ...]
    monetary: tuple[float, ...]
    buyers: int
    computed_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "recency_days": list(self.recency_days),
            "frequency": list(self.frequency),
            "monetary": list(self.monetary),
            "buyers": self.buyers,
            "computed_at": self.computed_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RfmBounds:
        return cls(
            tuple(float(v) for v in data["recency_days"]),
            tuple(float(v) for v in data["frequency"]),
            tuple(float(v) for v in data["monetary"]),
            int(data["buyers"]),
            str(data["computed_at"]),
        )


def quintile_cuts(values: list[float]) -> tuple[float, ...]:
    """The 20th, 40th, 60th and 80th percentile values (nearest rank) of sorted `values`."""
    if not values:
        return ()
    n = len(values)
    return tuple(values[min(n - 1, max(0, (n * q + 4) // 5 - 1))] for q in (1, 2, 3, 4))


def rfm_bounds(buyers: Iterable[tuple[int, int, float]], computed_at: str) -> RfmBounds:
    """From (days since last purchase, orders, revenue) of every buyer."""
    recency, frequency, monetary = [], [], []
    for days, count, revenue in buyers:
        recency.append(float(days))
        frequency.append(float(count))
        monetary.append(float(revenue))
    for axis in (recency, frequency, monetary):
        axis.sort()
    return RfmBounds(
        quintile_cuts(recency), quintile_cuts(frequency), quintile_cuts(monetary), len(recency), computed_at
    )


def rfm_code(bounds: RfmBounds | None, contact: Mapping[str, Any], today: date) -> str:
    """'RFM' digits 1-5 each (e.g. '545'), or '' for someone who never bought."""
    return rfm_code_by(bounds, contact, today, last_purchase_day(contact))


def rfm_code_by(bounds: RfmBounds | None, contact: Mapping[str, Any], today: date, last: date | None) -> str:
    """rfm_code(), given the contact's last_purchase_day() (read once by evaluation)."""
    count = orders(contact)
    if bounds is None or not bounds.buyers or last is None or count < 1:
        return ""
    days = max((today - last).days, 0)
    spent = float(contact.get("total_spent") or 0)
    # Fewer days since the last order is better: 5 for the most recent fifth.
    recency = 5 - bisect_left(bounds.recency_days, days)
    frequency = 1 + bisect_left(bounds.frequency, count)
    monetary = 1 + bisect_left(bounds.monetary, spent)
    return f"{max(recency, 1)}{min(frequency, 5)}{min(monetary, 5)}"


# Named groups on recency and frequency (the usual RFM grid), first match wins.
RFM_GROUPS: tuple[tuple[str, range, range], ...] = (
    ("champions", range(5, 6), range(4, 6)),
    ("loyal", range(3, 6), range(4, 6)),
    ("new_customers", range(5, 6), range(1, 2)),
    ("potential_loyalists", range(4, 6), range(1, 4)),
    ("promising", range(4, 5), range(1, 2)),
    ("need_attention", range(3, 4), range(2, 4)),
    ("about_to_sleep", range(3, 4), range(1, 2)),
    ("cannot_lose", range(1, 2), range(4, 6)),
    ("at_risk", range(2, 3), range(3, 6)),
    ("hibernating", range(2, 3), range(1, 3)),
    ("lost", range(1, 2), range(1, 4)),
)
RFM_GROUP_NAMES = frozenset(name for name, _, _ in RFM_GROUPS)


def rfm_group(code: str) -> str:
    if len(code) != 3:
        return ""
    recency, frequency = int(code[0]), int(code[1])
    for name, recencies, frequencies in RFM_GROUPS:
        if recency in recencies and frequency in frequencies:
            return name
    return ""


RFM_GROUP_OF = {
    code: rfm_group(code) for code in ["", *(f"{r}{f}{m}" for r in "12345" for f in "12345" for m in "12345")]
}


def recency_changes_at(bounds: RfmBounds | None, last_bought: date | None, today: date) -> date | None:
    """The next day this person's recency score drops (a boundary passed), for the sweep."""
    if bounds is None or last_bought is None:
        return None
    days = (today - last_bought).days
    later = bisect_left(bounds.recency_days, days)  # the first cut not yet passed (score drops at cut + 1)
    if later >= len(bounds.recency_days):
        return None
    return last_bought + timedelta(days=int(bounds.recency_days[later]) + 1)
