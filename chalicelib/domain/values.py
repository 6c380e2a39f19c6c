"""Cell values as people type them: Japanese and ISO dates, full-width digits,
yen amounts, 男/女, はい/いいえ.  Each parser returns a clean value or raises
InvalidValueError naming what was expected."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation


class InvalidValueError(ValueError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


_ERAS = {
    "明治": 1868,
    "大正": 1912,
    "昭和": 1926,
    "平成": 1989,
    "令和": 2019,
    "m": 1868,
    "t": 1912,
    "s": 1926,
    "h": 1989,
    "r": 2019,
}
_YMD = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_KANJI = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_WAREKI = re.compile(r"(明治|大正|昭和|平成|令和|[mtshr])\s*(\d{1,2}|元)[年./-](\d{1,2})[月./-](\d{1,2})日?")
_TIME_TAIL = re.compile(r"(?:[ t]\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:z|[+-]\d{2}:?\d{2})?)?\Z")


def plain_digits(text: str) -> bool:
    """Only 0-9, as a whole number is typed, and at most 18 of them: str.isdigit() alone also
    takes ² and ٣, which int() refuses, as it refuses a number of over 4,300 digits (a 500 where
    a 400 belongs); no count, page, day or version here comes near 18 digits."""
    return len(text) <= 18 and text.isascii() and text.isdigit()


def parse_date(text: str) -> date:
    """2024-01-31, 2024/1/31, 20240131, 2024年1月31日, 令和6年1月31日, R6.1.31 (a time part is dropped)."""
    if text.isascii():  # fast path for 2024-01-31 and 2024/1/31
        parts = text.replace("/", "-").split("-")
        if len(parts) == 3 and len(parts[0]) == 4 and "".join(parts).isdigit():
            return _make_date(int(parts[0]), int(parts[1]), int(parts[2]), text)
    value = _folded(text).lower()
    for pattern in (_YMD, _KANJI, _COMPACT):
        match = pattern.match(value)
        if match and _TIME_TAIL.match(value, match.end()):
            return _make_date(int(match[1]), int(match[2]), int(match[3]), text)
    match = _WAREKI.match(value)
    if match and _TIME_TAIL.match(value, match.end()):
        era_year = 1 if match[2] == "元" else int(match[2])
        return _make_date(_ERAS[match[1]] + era_year - 1, int(match[3]), int(match[4]), text)
    raise InvalidValueError("invalid_date", f"'{text}' is not a date (use 2024-01-31 or 2024/1/31).")


def parse_iso_date(text: str) -> str:
    """parse_date, as the ISO text that is stored."""
    return parse_date(text).isoformat()


def _make_date(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidValueError("invalid_date", f"'{text}' is not a real calendar date.") from None


_INT_SUFFIXES = ("回", "件", "歳", "才", "個", "点")


def _folded(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII), skipped for ASCII text, which it leaves alone."""
    return text.strip() if text.isascii() else unicodedata.normalize("NFKC", text).strip()


def parse_int(text: str, low: int = 0, high: int = 10**9) -> int:
    if text.isdigit() and text.isascii():  # the common case, fast
        number = int(text)
        if low <= number <= high:
            return number
    value = _folded(text).replace(",", "")
    for suffix in _INT_SUFFIXES:
        value = value.removesuffix(suffix)
    try:
        number = int(value)
    except ValueError:
        raise InvalidValueError("invalid_number", f"'{text}' is not a whole number.") from None
    if not low <= number <= high:
        raise InvalidValueError("out_of_range", f"{number} is outside {low}..{high}.")
    return number


def parse_money(text: str) -> Decimal:
    if text.isdigit() and text.isascii():
        return Decimal(text)
    value = _folded(text).replace(",", "")
    # CP932 shows byte 0x5C as ¥, so a yen amount from Japanese Excel may start with a backslash.
    value = value.removeprefix("¥").removeprefix("\\").removeprefix("$")
    value = value.removesuffix("円").removesuffix("jpy").strip()
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise InvalidValueError("invalid_number", f"'{text}' is not an amount of money.") from None
    if not amount.is_finite() or amount < 0 or amount > Decimal("1e15"):
        raise InvalidValueError("out_of_range", f"'{text}' is not a plausible amount.")
    return amount


_GENDERS = {
    "female": ("f", "female", "woman", "女", "女性", "おんな", "w"),
    "male": ("m", "male", "man", "男", "男性", "おとこ"),
    "other": ("other", "x", "nonbinary", "non-binary", "その他", "回答しない"),
}
_GENDER_LOOKUP = {word: gender for gender, words in _GENDERS.items() for word in words}


def parse_gender(text: str) -> str:
    """female / male / other for the words we know; anything else is kept as typed."""
    known = _GENDER_LOOKUP.get(text)
    if known:
        return known
    value = _folded(text)
    return _GENDER_LOOKUP.get(value.lower(), value)


_YES = {
    "yes",
    "y",
    "true",
    "1",
    "on",
    "optin",
    "opt-in",
    "subscribed",
    "granted",
    "はい",
    "同意",
    "同意する",
    "同意済",
    "同意済み",
    "許可",
    "希望",
    "希望する",
    "する",
    "受け取る",
    "購読",
    "○",
    "◯",
    "済",
}
_NO = {
    "no",
    "n",
    "false",
    "0",
    "off",
    "optout",
    "opt-out",
    "unsubscribed",
    "denied",
    "いいえ",
    "拒否",
    "不可",
    "しない",
    "希望しない",
    "不要",
    "受け取らない",
    "停止",
    "配信停止",
    "×",
}


def parse_consent(text: str) -> bool:
    value = _folded(text).lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise InvalidValueError("invalid_consent", f"'{text}' is not a yes/no consent answer.")
