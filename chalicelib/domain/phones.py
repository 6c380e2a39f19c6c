"""Phone numbers as SMS needs them: E.164 (`+819012345678`), whatever way they were written.

A CSV from a Japanese shop writes 090-1234-5678, ０９０（１２３４）５６７８ or +81 90 1234 5678;
an SMS service takes only E.164.  A number without a country code is read as one of the
account's country (Japan unless told otherwise): its trunk 0 goes, the country code comes.

In Japan only mobile numbers (070, 080, 090 -- +81 70/80/90) receive SMS; a landline or an
050 IP phone is kept as a phone number but not offered to the SMS channel (`takes_sms`).
Elsewhere the number's kind is not known from its digits, so any valid number may be tried.

A number's country (`country_of`) is read back from its calling code, for the sender a text
goes out from (domain/sms_senders.py).  +1 is shared by the NANP: Canada is told by its area
codes; every other +1 number counts as the United States.
"""

from __future__ import annotations

import re
import unicodedata

from .errors import BadInputError

# Country calling codes of the countries a sender may name as its default (ISO 3166 alpha-2).
CALLING_CODES = {
    "JP": "81",
    "US": "1",
    "CA": "1",
    "GB": "44",
    "KR": "82",
    "TW": "886",
    "HK": "852",
    "SG": "65",
    "AU": "61",
    "DE": "49",
    "FR": "33",
    "TH": "66",
    "VN": "84",
    "PH": "63",
    "ID": "62",
    "MY": "60",
    "CN": "86",
}
# Canada's area codes (NANPA's geographic and non-geographic Canadian NPAs).
_CANADA = (
    "204 226 236 249 250 263 289 306 343 354 365 367 368 382 387 403 416 418 428 431 437 438 450 468"
    " 474 506 514 519 548 579 581 584 587 600 604 613 622 639 647 672 683 705 709 742 753 778 780 782"
    " 807 819 825 867 873 879 902 905 942"
)
CANADA_AREA_CODES = frozenset(_CANADA.split())
_COUNTRY_OF_CODE = {code: country for country, code in CALLING_CODES.items() if code != "1"}
_SPACING = re.compile(r"[\s\-‐‑‒–—―ー().]")
_E164 = re.compile(r"\+[1-9][0-9]{7,14}\Z")
_JP = re.compile(r"\+81[1-9][0-9]{8,9}\Z")  # a national number of 10 or 11 digits, its 0 dropped
_JP_MOBILE = re.compile(r"\+81[789]0[0-9]{8}\Z")


class BadPhoneError(BadInputError):
    """Not a phone number that can be written in E.164."""


def e164(written: str, country: str = "JP") -> str:
    """The number in E.164; BadPhoneError naming what is wrong otherwise."""
    text = _SPACING.sub("", unicodedata.normalize("NFKC", written or "").strip())
    if not text:
        raise BadPhoneError("The phone number is empty.")
    if text.startswith("00"):  # an international prefix as dialled from Japan and Europe
        text = "+" + text[2:]
    elif text.startswith("010"):  # Japan's international prefix
        text = "+" + text[3:]
    elif not text.startswith("+"):
        code = CALLING_CODES.get(country.upper())
        if code is None:
            raise BadPhoneError(f"No calling code known for the country {country[:8]!r}.")
        if code == "1":  # North America has no trunk 0; a leading 1 is its own country code
            national = text[1:] if len(text) == 11 and text.startswith("1") else text
        else:
            national = text[1:] if text.startswith("0") else text
        text = f"+{code}{national}"
    if not _E164.match(text) or (text.startswith("+81") and not _JP.match(text)):
        raise BadPhoneError(f"{written[:40]!r} is not a phone number (E.164: + and 8 to 15 digits).")
    return text


def takes_sms(number: str) -> bool:
    """Whether an E.164 number may receive SMS: in Japan, mobile numbers only."""
    if number.startswith("+81"):
        return bool(_JP_MOBILE.match(number))
    return bool(_E164.match(number))


def country_of(number: str) -> str:
    """The country (ISO 3166 alpha-2, one of CALLING_CODES) of an E.164 number; '' when its
    calling code is none of theirs.  Calling codes are prefix-free, so one at most matches."""
    if not _E164.match(number):
        return ""
    digits = number[1:]
    if digits.startswith("1"):
        return "CA" if digits[1:4] in CANADA_AREA_CODES else "US"
    return next((_COUNTRY_OF_CODE[digits[:n]] for n in (1, 2, 3) if digits[:n] in _COUNTRY_OF_CODE), "")
