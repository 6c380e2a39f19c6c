from datetime import date
from decimal import Decimal

import pytest

from chalicelib.domain.values import (
    InvalidValueError,
    parse_consent,
    parse_date,
    parse_gender,
    parse_int,
    parse_money,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-31", date(2024, 1, 31)),
        ("2024/1/5", date(2024, 1, 5)),
        ("2024.01.05", date(2024, 1, 5)),
        ("20240131", date(2024, 1, 31)),
        ("2024年1月31日", date(2024, 1, 31)),
        ("２０２４／０１／３１", date(2024, 1, 31)),
        ("2024/01/31 10:15:00", date(2024, 1, 31)),
        ("2024-01-31T10:15:00+09:00", date(2024, 1, 31)),
        ("令和6年1月31日", date(2024, 1, 31)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("平成31年4月30日", date(2019, 4, 30)),
        ("R6.1.31", date(2024, 1, 31)),
        ("S50/3/3", date(1975, 3, 3)),
    ],
)
def test_dates_as_people_type_them(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["2024-02-30", "31/01/2024", "yesterday", "2024-13-01", "令和6年"])
def test_non_dates_are_refused(text):
    with pytest.raises(InvalidValueError) as error:
        parse_date(text)
    assert error.value.reason == "invalid_date" and text in str(error.value)


def test_numbers_accept_full_width_digits_commas_and_units():
    assert parse_int("１２") == 12
    assert parse_int("1,234") == 1234
    assert parse_int("3回") == 3
    assert parse_int("33歳", high=150) == 33
    with pytest.raises(InvalidValueError):
        parse_int("3.5")
    with pytest.raises(InvalidValueError) as error:
        parse_int("200", high=150)
    assert error.value.reason == "out_of_range"


def test_money_is_exact():
    assert parse_money("¥12,345") == Decimal("12345")
    assert parse_money("１２３４円") == Decimal("1234")
    assert parse_money("19.99") == Decimal("19.99")
    for bad in ("-5", "NaN", "lots", "1e400"):
        with pytest.raises(InvalidValueError):
            parse_money(bad)


def test_gender_words_and_free_text():
    assert parse_gender("男") == "male"
    assert parse_gender("女性") == "female"
    assert parse_gender("F") == "female"
    assert parse_gender("回答しない") == "other"
    assert parse_gender("prefer to describe") == "prefer to describe"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("はい", True),
        ("yes", True),
        ("TRUE", True),
        ("1", True),
        ("同意", True),
        ("○", True),
        ("いいえ", False),
        ("No", False),
        ("0", False),
        ("配信停止", False),
        ("×", False),
    ],
)
def test_consent_answers(text, expected):
    assert parse_consent(text) is expected


def test_unclear_consent_is_an_error_not_a_guess():
    with pytest.raises(InvalidValueError) as error:
        parse_consent("maybe")
    assert error.value.reason == "invalid_consent"
