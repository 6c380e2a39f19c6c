"""The console's figures: counters kept as things happen, so a page reads a few items per day
and series whether there are ten contacts or ten million.

- **Per-day series** grow as entries arrive on the events stream: page views by identified and
  anonymous visitors, conversions, revenue, sign-ups, and each scenario mail's fate (sent,
  delivered, opened, clicked, bounced, complained, unsubscribed), and hot leads.
- **Gauges** move as contacts change on the contacts stream: one down where the person was
  (consent state, grade, RFM cell), one up where they are now.

This module says what a stream batch adds up to and what a time range is; the store keeps the
sums, once per batch.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import BadInputError

PAGEVIEWS_KNOWN, PAGEVIEWS_ANONYMOUS, REVENUE, HOT = (
    "pageviews_known",
    "pageviews_anonymous",
    "revenue",
    "hot",
)
OTHER_CHANNELS = ("line", "sms")  # than mail: a click there is scored as a click, not counted as mail's
MAIL = ("sent", "delivered", "opened", "clicked", "bounced", "complained", "unsubscribed")
# A timeline entry's kind -> the series it counts in (page views and revenue are worked out below).
_KIND_SERIES = {
    "conversion": "conversions",
    "form": "forms",
    "mail_sent": "mail_sent",
    "mail_delivered": "mail_delivered",
    "email_open": "mail_opened",
    "email_click": "mail_clicked",
    "mail_bounced": "mail_bounced",
    "mail_complained": "mail_complained",
    "unsubscribed": "mail_unsubscribed",
    "hot": HOT,
}
# A person entering or leaving a segment: the segment's own series (segment_in:<name>, ...).
_SEGMENT_MOVES = {"segment_enter": "segment_in", "segment_leave": "segment_out"}
SERIES = (
    PAGEVIEWS_KNOWN,
    PAGEVIEWS_ANONYMOUS,
    "conversions",
    REVENUE,
    "forms",
    *(f"mail_{m}" for m in MAIL),
    HOT,
)
CONSENT_STATES = ("subscribed", "pending", "unsubscribed", "suppressed")
GRADES = tuple(f"{p}{e}" for p in "ABCD" for e in "1234")
# Gmail's and Yahoo's bulk-sender rules: spam complaints kept under 0.1 %, never 0.3 % or more.
COMPLAINT_BARS = {"aim": 0.1, "limit": 0.3}
RANGES = {"today": 1, "7d": 7, "30d": 30, "90d": 90}
MAX_DAYS = 366
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


@dataclass(frozen=True)
class Fact:
    """A new timeline entry or hit, as much of it as counting needs."""

    kind: str
    at: str  # ISO time; its date is the day it counts on
    known: bool  # under a person (c#...), not an anonymous visitor
    amount: str = ""
    source: str = ""  # a purchase's (api, tag, import); a click's channel when not mail: line, sms
    bot: bool = False
    contact_id: str = ""
    name: str = ""  # a hot entry's score
    value: str = ""  # and its value then
    order: bool = False  # a conversion naming the shop's order id


def day_counts(facts: Iterable[Fact]) -> dict[tuple[str, str], Decimal]:
    """What a batch of new entries adds to each (series, day)."""
    counts: dict[tuple[str, str], Decimal] = {}

    def add(series: str, day: str, n: Decimal) -> None:
        counts[(series, day)] = counts.get((series, day), Decimal(0)) + n

    for fact in facts:
        day = fact.at[:10]
        if not _DAY.match(day) or fact.bot:
            continue
        if fact.kind == "pageview":
            add(PAGEVIEWS_KNOWN if fact.known else PAGEVIEWS_ANONYMOUS, day, Decimal(1))
        elif fact.kind in _SEGMENT_MOVES and fact.name:
            add(f"{_SEGMENT_MOVES[fact.kind]}:{fact.name}", day, Decimal(1))
        elif fact.kind in _KIND_SERIES and not (fact.kind == "email_click" and fact.source in OTHER_CHANNELS):
            add(_KIND_SERIES[fact.kind], day, Decimal(1))  # a click in a LINE message or a text is no mail's
        amount = _amount(fact.amount)
        if amount and (
            fact.kind == "purchase" or (fact.kind == "conversion" and not (fact.order and fact.known))
        ):
            add(REVENUE, day, amount)  # a known buyer's order counts as the order recorded once by its
            # id (however often the thank-you page is loaded, and whether the tag, the shop's server
            # or both report it); an anonymous one only as its conversion
    return counts


def segment_series(name: str) -> tuple[str, str]:
    """The two series of a segment: who entered it and who left it, per day."""
    return f"segment_in:{name}", f"segment_out:{name}"


def size_history(
    days: list[str], size_now: int, entered: Mapping[str, Decimal], left: Mapping[str, Decimal]
) -> list[int]:
    """A segment's size at the end of each day, worked back from its size now: each later day's
    entries are taken off and its leavers put back.  `entered`/`left` cover the days up to now."""
    later = sorted({*entered, *left}, reverse=True)
    sizes, size, i = [], size_now, 0
    for day in sorted(days, reverse=True):
        while i < len(later) and later[i] > day:
            size -= int(entered.get(later[i], 0)) - int(left.get(later[i], 0))
            i += 1
        sizes.append(size)
    sizes.reverse()
    return sizes


def hot_leads(facts: Iterable[Fact]) -> list[Fact]:
    """The batch's hot entries: who turned hot, on which score, when."""
    return [f for f in facts if f.kind == HOT and f.contact_id and _DAY.match(f.at[:10])]


def _amount(text: str) -> Decimal:
    try:
        amount = Decimal(text) if text else Decimal(0)
    except InvalidOperation:
        return Decimal(0)
    return amount if amount.is_finite() and 0 < amount <= Decimal("1e12") else Decimal(0)


def gauges_of(contact: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The gauges one contact counts in: its consent state, its grade, its RFM cell (R x F)."""
    if contact is None:
        return ()
    found = ["contacts"]
    status = str(contact.get("status") or "")
    if status in CONSENT_STATES:
        found.append(f"consent:{status}")
    grade = str(contact.get("grade") or "")
    if grade in GRADES:
        found.append(f"grade:{grade}")
    rfm = str(contact.get("rfm") or "")
    if len(rfm) == 3 and all(c in "12345" for c in rfm):
        found.append(f"rfm:{rfm[:2]}")
    return tuple(found)


def gauge_moves(
    changes: Iterable[tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]],
) -> dict[str, int]:
    """What a batch of (before, after) contact images moves: -1 where each was, +1 where it is."""
    moves: dict[str, int] = {}
    for before, after in changes:
        was, now = set(gauges_of(before)), set(gauges_of(after))
        for gauge in was - now:
            moves[gauge] = moves.get(gauge, 0) - 1
        for gauge in now - was:
            moves[gauge] = moves.get(gauge, 0) + 1
    return {g: n for g, n in moves.items() if n}


@dataclass(frozen=True)
class DayRange:
    first: date
    last: date

    @property
    def days(self) -> list[str]:
        return [
            (self.first + timedelta(days=i)).isoformat() for i in range((self.last - self.first).days + 1)
        ]


def day_range(params: Mapping[str, str], today: date) -> DayRange:
    """`range=today|7d|30d|90d` (the last days up to today), or `from=YYYY-MM-DD&to=YYYY-MM-DD`."""
    if "from" in params or "to" in params:
        first, last = day_param(params.get("from", ""), "from"), day_param(params.get("to", ""), "to")
        if last < first:
            raise BadInputError("to comes before from: give the earlier day as from.")
        if (last - first).days + 1 > MAX_DAYS:
            raise BadInputError(f"a range covers at most {MAX_DAYS} days.")
        return DayRange(first, last)
    asked = params.get("range", "7d")
    if asked not in RANGES:
        raise BadInputError(f"range must be one of {', '.join(RANGES)} (or give from and to).")
    return DayRange(today - timedelta(days=RANGES[asked] - 1), today)


def day_param(text: str, name: str) -> date:
    """A day a caller named as YYYY-MM-DD; BadInputError naming the parameter otherwise."""
    if not _DAY.match(text or ""):
        raise BadInputError(f"{name} must be a day as YYYY-MM-DD.")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInputError(f"{name} is not a day of the calendar: {text}.") from None


def overview(
    span: DayRange, series: Mapping[str, Mapping[str, Decimal]], gauges: Mapping[str, int]
) -> dict[str, Any]:
    """The overview's numbers: each series day by day over the range (0 where nothing
    happened), its totals, the mail rates against the mailbox providers' bars, and the gauges."""
    days = span.days
    by_day = {name: [_number(series.get(name, {}).get(day, Decimal(0))) for day in days] for name in SERIES}
    totals = {
        name: _number(sum((series.get(name, {}).get(d, Decimal(0)) for d in days), Decimal(0)))
        for name in SERIES
    }
    delivered = totals["mail_delivered"] or totals["mail_sent"]
    sent = totals["mail_sent"]
    rates = {
        "delivered": _rate(totals["mail_delivered"], sent),
        "bounced": _rate(totals["mail_bounced"], sent),
        "complained": _rate(totals["mail_complained"], delivered),
        "opened": _rate(totals["mail_opened"], delivered),
        "clicked": _rate(totals["mail_clicked"], delivered),
    }
    return {
        "from": span.first.isoformat(),
        "to": span.last.isoformat(),
        "days": days,
        "series": by_day,
        "totals": totals,
        "rates": rates,
        "complaint_bars": COMPLAINT_BARS,
        "complaints_ok": rates["complained"] < COMPLAINT_BARS["limit"],
        "contacts": max(gauges.get("contacts", 0), 0),
        "consent": {state: max(gauges.get(f"consent:{state}", 0), 0) for state in CONSENT_STATES},
        "grades": {grade: max(gauges.get(f"grade:{grade}", 0), 0) for grade in GRADES},
        "rfm": {f"{r}{f}": max(gauges.get(f"rfm:{r}{f}", 0), 0) for r in "54321" for f in "12345"},
    }


def _rate(part: float, whole: float) -> float:
    """A percentage with two decimals (0 when there is nothing to divide by)."""
    return round(100.0 * part / whole, 2) if whole else 0.0


def _number(value: Decimal) -> float:
    return int(value) if value == value.to_integral_value() else float(value)
