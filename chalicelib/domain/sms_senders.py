"""Who a text comes from, per destination country, and what kind of text it is (pure).

End User Messaging SMS's `SendTextMessage` takes (API reference): `MessageType` (`TRANSACTIONAL`
or `PROMOTIONAL`) and `OriginationIdentity` -- one of the account's phone numbers (5-14 digits,
an optional leading +; a dedicated number serves its own country only) or a sender ID (3-11
letters and digits, at least one letter, no spaces; shown instead of a number only where the
country supports sender IDs).  Without one the service picks an identity of the account.

The setting (SODATE_SMS_SENDERS) is JSON, one entry a country and a `default`:

    {"JP": {"origination_number": "+815012345678"},
     "US": {"origination_number": "+18445550100"},
     "default": {"sender_id": "Sodate"}}

Each entry names one of the two.  AWS's table of supported countries lists no sender-ID support
for Japan (nor the US, Canada, Korea, Taiwan, China, Indonesia, Malaysia): a sender ID is refused
for them here, and the default's sender ID is not sent there -- End User Messaging SMS then picks a number of the
account.  The default has no origination number (a number serves its own country only).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import BadInputError
from .phones import CALLING_CODES, country_of

SETTING = "SODATE_SMS_SENDERS"
SMS_TYPES = {"promotional": "PROMOTIONAL", "transactional": "TRANSACTIONAL"}  # a step's word: the API's
NO_SENDER_ID = frozenset({"JP", "US", "CA", "KR", "TW", "CN", "ID", "MY"})
_SENDER_ID = re.compile(r"(?=[0-9]*[A-Za-z])[A-Za-z0-9]{3,11}\Z")
_NUMBER = re.compile(r"\+?[0-9]{5,14}\Z")
_KEYS = ("sender_id", "origination_number")


class BadSendersError(BadInputError):
    """The senders setting is not what it must be; the message names the place."""


@dataclass(frozen=True)
class Sender:
    sender_id: str = ""
    origination_number: str = ""


@dataclass(frozen=True)
class Senders:
    by_country: Mapping[str, Sender] = field(default_factory=dict)
    default: Sender = Sender()

    def for_number(self, number: str) -> Sender:
        """The sender for a text to this E.164 number."""
        country = country_of(number)
        if country in self.by_country:
            return self.by_country[country]
        return Sender() if country in NO_SENDER_ID else self.default


def parse_senders(text: str) -> Senders:
    """The setting read; BadSendersError naming the key and what is wrong otherwise."""
    if not text.strip():
        return Senders()
    try:
        raw = json.loads(text)
    except ValueError as error:
        raise BadSendersError(f"{SETTING}: not JSON ({error})") from None
    if not isinstance(raw, dict):
        raise BadSendersError(f'{SETTING}: expected {{"JP": {{...}}, "default": {{...}}}}')
    by_country = {}
    for country, entry in raw.items():
        if country != "default" and country not in CALLING_CODES:
            known = ", ".join(sorted(CALLING_CODES))
            raise BadSendersError(f"{SETTING}.{str(country)[:8]}: expected default or one of {known}")
        by_country[country] = _sender(entry, country, f"{SETTING}.{country}")
    default = by_country.pop("default", Sender())
    return Senders(by_country, default)


def _sender(entry: Any, country: str, where: str) -> Sender:
    if not isinstance(entry, dict) or len(entry) != 1 or next(iter(entry)) not in _KEYS:
        raise BadSendersError(f'{where}: expected {{"sender_id": ...}} or {{"origination_number": ...}}')
    ((key, value),) = entry.items()
    at = f"{where}.{key}"
    if not isinstance(value, str):
        raise BadSendersError(f"{at}: expected text")
    if key == "sender_id":
        if not _SENDER_ID.match(value):
            raise BadSendersError(f"{at}: 3 to 11 letters and digits, at least one letter, no spaces")
        if country in NO_SENDER_ID:
            raise BadSendersError(
                f"{at}: AWS lists no sender ID support for {country}; give an origination_number"
            )
        return Sender(sender_id=value)
    if country == "default":
        raise BadSendersError(f"{at}: a number serves its own country only; give it under the country")
    if not _NUMBER.match(value) or (value.startswith("+") and country_of(value) != country):
        code = CALLING_CODES[country]
        raise BadSendersError(
            f"{at}: expected the account's number for {country} (+{code}..., or a short code)"
        )
    return Sender(origination_number=value)
