"""How many SMS parts a text takes, as carriers bill it.

A text that uses only the GSM 7-bit alphabet (3GPP TS 23.038: its basic table, and the extension
table's characters at two septets each) is sent in GSM-7: 160 septets in one part, 153 a part
once it is split (each part carries a header to join them).  Any other character -- every
Japanese one -- makes the whole text UCS-2: 70 UTF-16 code units in one part, 67 a part when
split.  A part never ends inside an escape pair or a surrogate pair, so a split text may take
more parts than its length divided by 153 or 67.
"""

from __future__ import annotations

from typing import NamedTuple

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
ONE_PART = {"GSM-7": 160, "UCS-2": 70}
A_PART = {"GSM-7": 153, "UCS-2": 67}
MOST_PARTS = 10  # a longer text is refused rather than billed ten times over


class SmsSize(NamedTuple):
    encoding: str  # GSM-7 or UCS-2
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    parts: int


def encoding_of(text: str) -> str:
    return "GSM-7" if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text) else "UCS-2"


def size(text: str) -> SmsSize:
    encoding = encoding_of(text)
    if encoding == "GSM-7":
        widths = [2 if c in GSM7_EXTENDED else 1 for c in text]
    else:
        widths = [2 if ord(c) > 0xFFFF else 1 for c in text]
    units = sum(widths)
    if units <= ONE_PART[encoding]:
        return SmsSize(encoding, units, 1 if text else 0)
    parts, room = 1, A_PART[encoding]
    for width in widths:  # a character that does not fit whole starts the next part
        if width > room:
            parts, room = parts + 1, A_PART[encoding]
        room -= width
    return SmsSize(encoding, units, parts)
