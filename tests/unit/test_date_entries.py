"""Entering on a date: which local date a daily pass enters each person on."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.journeys import occasion

BIRTHDAY = {"date_field": "birthday"}
TOKYO, NEW_YORK = ZoneInfo("Asia/Tokyo"), ZoneInfo("America/New_York")


def pass_of(day: date) -> tuple[datetime, datetime]:
    since = datetime.combine(day, time(0), UTC)
    return since, since + timedelta(days=1)


def test_a_birthday_is_entered_on_the_pass_before_it_begins_in_tokyo():
    # Tokyo's 24 November begins at 15:00 UTC on the 23rd: the 23rd's pass enters it.
    assert occasion(BIRTHDAY, "1990-11-24", *pass_of(date(2026, 11, 23)), TOKYO) == date(2026, 11, 24)
    assert occasion(BIRTHDAY, "1990-11-24", *pass_of(date(2026, 11, 24)), TOKYO) is None


def test_a_birthday_is_entered_on_its_own_days_pass_in_new_york():
    # New York's 24 November begins at 05:00 UTC on the 24th.
    assert occasion(BIRTHDAY, "1990-11-24", *pass_of(date(2026, 11, 23)), NEW_YORK) is None
    assert occasion(BIRTHDAY, "1990-11-24", *pass_of(date(2026, 11, 24)), NEW_YORK) == date(2026, 11, 24)


def test_29_february_is_kept_on_the_28th_in_other_years_and_on_the_29th_in_leap_years():
    assert occasion(BIRTHDAY, "2000-02-29", *pass_of(date(2027, 2, 28)), UTC) == date(2027, 2, 28)
    assert occasion(BIRTHDAY, "2000-02-29", *pass_of(date(2028, 2, 28)), UTC) is None
    assert occasion(BIRTHDAY, "2000-02-29", *pass_of(date(2028, 2, 29)), UTC) == date(2028, 2, 29)


def test_offsets_move_the_occasion_and_purchase_dates_come_once():
    week_before = {"date_field": "birthday", "offset_days": -7}
    assert occasion(week_before, "1990-12-01", *pass_of(date(2026, 11, 24)), UTC) == date(2026, 11, 24)
    month_after = {"date_field": "last_purchase_date", "offset_days": 30}
    assert occasion(month_after, "2026-10-25", *pass_of(date(2026, 11, 24)), UTC) == date(2026, 11, 24)
    assert occasion(month_after, "2025-10-25", *pass_of(date(2025, 11, 24)), UTC) == date(2025, 11, 24)
    assert occasion(month_after, "2025-10-25", *pass_of(date(2026, 11, 24)), UTC) is None


@pytest.mark.parametrize("value", [None, "", "soon", "1990-13-01", 19901124])
def test_a_missing_or_broken_date_enters_nobody(value):
    assert occasion(BIRTHDAY, value, *pass_of(date(2026, 11, 24)), UTC) is None


@settings(max_examples=60, deadline=None)
@given(
    birthday=st.dates(date(1940, 1, 1), date(2010, 12, 31)),
    zone=st.sampled_from(
        [
            "Asia/Tokyo",
            "America/New_York",
            "Europe/London",
            "Pacific/Kiritimati",
            "Pacific/Pago_Pago",
            "Australia/Lord_Howe",
            "UTC",
        ]
    ),
    offset=st.integers(-30, 30),
)
def test_daily_passes_meet_each_persons_occasion_exactly_once_a_year(birthday, zone, offset):
    """Over two years of daily passes, the dates entered are exactly the birthdays (moved by the
    offset), each once, and each pass enters a date that begins within its own day."""
    trigger = {"date_field": "birthday", "offset_days": offset}
    tz = ZoneInfo(zone)
    met = []
    days = [date(2025, 1, 1) + timedelta(days=n) for n in range(731)]
    for day in days:
        since, until = pass_of(day)
        found = occasion(trigger, birthday.isoformat(), since, until, tz)
        if found is not None:
            assert since <= datetime.combine(found, time(0), tz) < until
            met.append(found)
    first_pass, last_pass = pass_of(days[0])[0], pass_of(days[-1])[1]
    expected = []
    for year in (2024, 2025, 2026, 2027):
        day = birthday.day if (birthday.month, birthday.day) != (2, 29) or year % 4 == 0 else 28
        moved = date(year, birthday.month, day) + timedelta(days=offset)
        if first_pass <= datetime.combine(moved, time(0), tz) < last_pass:
            expected.append(moved)
    assert met == expected
