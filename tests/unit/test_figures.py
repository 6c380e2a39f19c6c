"""The console's figures: what a stream batch adds up to, how contacts move the gauges, what a
time range is, and the overview a marketer reads -- over the in-memory counters."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from chalicelib.domain.errors import BadInputError
from chalicelib.domain.figures import (
    Fact,
    day_counts,
    day_range,
    gauge_moves,
    gauges_of,
    segment_series,
    size_history,
)
from chalicelib.services.figures import Figures
from tests.fakes import FakeClock, MemoryFigureBook, MemoryPeople, MemoryPeopleIndex

TODAY = "2026-11-23"


def fact(kind: str, known: bool = True, at: str = f"{TODAY}T09:00:00.000+00:00", **more: str | bool) -> Fact:
    return Fact(kind=kind, at=at, known=known, **more)  # type: ignore[arg-type]


def test_page_views_count_by_who_made_them_and_robots_not_at_all():
    counts = day_counts(
        [
            fact("pageview"),
            fact("pageview", known=False),
            fact("pageview", known=False),
            fact("pageview", bot=True),
        ]
    )
    assert counts == {("pageviews_known", TODAY): 1, ("pageviews_anonymous", TODAY): 2}


def test_revenue_counts_each_order_once_whether_the_tag_or_the_shop_reported_it():
    counts = day_counts(
        [
            fact("conversion", amount="1200", order=True),  # the tag's purchase conversion ...
            fact("conversion", amount="1200", order=True),  # ... the thank-you page loaded again ...
            fact("purchase", amount="1200", source="tag"),  # ... and the order it became: once
            # the shop's server reported it too: its order id was recorded already, so no entry
            fact("purchase", amount="800.50", source="api"),  # an order only the shop's system sent
            fact("conversion", known=False, amount="300", order=True),  # nobody to record it under
            fact("conversion", amount="50"),  # a conversion with a value that is no order
            fact("conversion", known=False, amount="not a number"),
            fact("conversion", amount="-5"),
        ]
    )
    assert counts[("revenue", TODAY)] == Decimal("2350.50")
    assert counts[("conversions", TODAY)] == 6


def test_each_mail_fate_has_its_series_and_each_day_its_own_counter():
    yesterday = "2026-11-22T23:59:59.999+00:00"
    kinds = ["mail_sent", "mail_sent", "mail_delivered", "email_open", "email_click", "mail_bounced"]
    elsewhere = [fact("email_click", source="line"), fact("email_click", source="sms")]  # not mail's
    counts = day_counts(
        [fact(k) for k in kinds]
        + [fact("mail_sent", at=yesterday), fact("score"), fact("x", at=""), *elsewhere]
    )
    assert counts == {
        ("mail_sent", TODAY): 2,
        ("mail_sent", "2026-11-22"): 1,
        ("mail_delivered", TODAY): 1,
        ("mail_opened", TODAY): 1,
        ("mail_clicked", TODAY): 1,
        ("mail_bounced", TODAY): 1,
    }


def test_a_contact_moves_from_the_cells_it_was_in_to_the_ones_it_is_in():
    before = {"status": "pending", "grade": "D4", "rfm": ""}
    after = {"status": "subscribed", "grade": "B2", "rfm": "541"}
    assert gauges_of(after) == ("contacts", "consent:subscribed", "grade:B2", "rfm:54")
    moves = gauge_moves(
        [(None, before), (before, after), (after, after), (after, None), ({"grade": "Z9"}, None)]
    )
    # new (pending, D4), moved to subscribed/B2/54, unchanged, erased: all even but for the
    # last, someone whose image counted only as a contact going away
    assert moves == {"contacts": -1}
    assert gauge_moves([(None, before), (before, after)]) == {
        "contacts": 1,
        "consent:subscribed": 1,
        "grade:B2": 1,
        "rfm:54": 1,
    }


def test_a_time_range_is_one_of_the_presets_or_two_days_in_order():
    today = date(2026, 11, 23)
    assert day_range({}, today).days[-1] == "2026-11-23" and len(day_range({}, today).days) == 7
    assert day_range({"range": "today"}, today).days == ["2026-11-23"]
    assert len(day_range({"range": "90d"}, today).days) == 90
    assert day_range({"from": "2024-02-28", "to": "2024-03-01"}, today).days == [
        "2024-02-28",
        "2024-02-29",
        "2024-03-01",
    ]
    for params, problem in (
        ({"range": "forever"}, "range must be one of"),
        ({"from": "2026-01-02"}, "to must be a day"),
        ({"from": "2026-01-02", "to": "2026-01-01"}, "to comes before from"),
        ({"from": "2026-13-01", "to": "2026-12-01"}, "not a day of the calendar"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "at most 366 days"),
    ):
        with pytest.raises(BadInputError, match=problem):
            day_range(params, today)


def world() -> tuple[Figures, MemoryFigureBook, MemoryPeople]:
    book, people = MemoryFigureBook(), MemoryPeople()
    clock = FakeClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    return Figures(book, MemoryPeopleIndex(), people, clock), book, people


def test_the_overview_shows_each_day_of_the_range_and_the_complaint_rate_against_the_bars():
    figures, _, _ = world()
    mail = [fact("mail_sent")] * 1000 + [fact("mail_delivered")] * 990 + [fact("mail_complained")] * 4
    figures.on_events([*mail, fact("pageview", known=False, at="2026-11-20T10:00:00+00:00")], "batch-1")
    seen = figures.overview({"range": "7d"})
    assert seen["days"] == [f"2026-11-{d}" for d in range(17, 24)]
    assert seen["series"]["pageviews_anonymous"] == [0, 0, 0, 1, 0, 0, 0]
    assert seen["series"]["mail_sent"][-1] == 1000 and seen["totals"]["mail_delivered"] == 990
    assert seen["rates"]["complained"] == 0.4 and seen["rates"]["bounced"] == 0.0
    assert seen["complaints_ok"] is False, "0.4 % is over Gmail's and Yahoo's 0.3 %"
    assert seen["complaint_bars"] == {"aim": 0.1, "limit": 0.3}


def test_a_batch_handed_over_again_is_not_counted_twice():
    figures, book, _ = world()
    batch = [fact("pageview"), fact("conversion", amount="100")]
    figures.on_events(batch, "000123")
    figures.on_events(batch, "000123")  # Lambda's retry of the same batch
    figures.on_events(batch, "000456")  # the next batch, with more of the same
    assert book.counters[("pageviews_known", TODAY)] == 2 and book.counters[("revenue", TODAY)] == 200
    figures.on_contacts([(None, {"status": "subscribed", "grade": "A1", "rfm": ""})], "000777")
    figures.on_contacts([(None, {"status": "subscribed", "grade": "A1", "rfm": ""})], "000777")
    assert figures.overview({"range": "today"})["consent"]["subscribed"] == 1


def test_todays_hot_leads_name_the_person_newest_first_and_skip_the_erased():
    figures, _, people = world()
    people.add("hanako@example.jp", "c-hanako", name="山田 花子", company="山田商店", grade="A1")
    people.add("taro@example.jp", "c-taro", name="鈴木 太郎")
    figures.on_events(
        [
            fact("hot", contact_id="c-taro", name="interest", value="55.00", at=f"{TODAY}T08:00:00+00:00"),
            fact("hot", contact_id="c-hanako", name="interest", value="61.00", at=f"{TODAY}T09:30:00+00:00"),
            fact("hot", contact_id="c-erased", name="interest", value="70", at=f"{TODAY}T10:00:00+00:00"),
        ],
        "b",
    )
    leads = figures.overview({"range": "today"})["hot_today"]
    assert [(lead["name"], lead["company"], lead["value"]) for lead in leads] == [
        ("山田 花子", "山田商店", "61.00"),
        ("鈴木 太郎", "", "55.00"),
    ]


def test_the_overview_reads_the_same_items_for_ten_people_as_for_ten_thousand():
    reads = []
    for people_count in (10, 10_000):
        figures, book, _ = world()
        figures.on_contacts(
            [
                (None, {"status": "subscribed", "grade": f"{'ABCD'[i % 4]}{1 + i % 4}", "rfm": ""})
                for i in range(people_count)
            ],
            "b",
        )
        figures.on_events([fact("pageview", at=f"2026-11-{d}T10:00:00+00:00") for d in range(1, 24)], "e")
        book.reads = 0
        seen = figures.overview({"range": "30d"})
        assert seen["contacts"] == people_count
        reads.append(book.reads)
    assert reads[0] == reads[1]


def test_a_segments_entries_and_exits_count_per_day_under_its_own_series():
    facts = [
        Fact("segment_enter", "2026-11-20T10:00:00Z", True, name="vip"),
        Fact("segment_enter", "2026-11-20T11:00:00Z", True, name="vip"),
        Fact("segment_leave", "2026-11-21T09:00:00Z", True, name="vip"),
        Fact("segment_enter", "2026-11-21T09:00:00Z", True, name="mailable"),
    ]

    counts = day_counts(facts)

    entered, left = segment_series("vip")
    assert counts[(entered, "2026-11-20")] == 2 and counts[(left, "2026-11-21")] == 1
    assert counts[(segment_series("mailable")[0], "2026-11-21")] == 1


def test_a_segments_size_by_day_is_worked_back_from_its_size_now():
    days = ["2026-11-20", "2026-11-21", "2026-11-22"]
    entered = {"2026-11-20": Decimal(5), "2026-11-22": Decimal(2), "2026-11-24": Decimal(1)}
    left = {"2026-11-21": Decimal(1), "2026-11-23": Decimal(3)}

    # now (the 24th) 10: the 24th added 1, the 23rd took 3, so the 22nd ended at 12, the 21st at 10
    assert size_history(days, 10, entered, left) == [11, 10, 12]
    assert size_history([], 10, entered, left) == []
