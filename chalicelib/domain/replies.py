"""A reply that asks for no more messages, on any channel that takes replies (LINE, SMS).

Carriers treat a reply of STOP as an opt-out, and AWS's SMS service keeps its own opt-out list
from it; Japanese senders also read 停止 and 配信停止.  Only a reply that is the word alone counts
(any case or width, spaces and closing punctuation aside): "stop by the shop tomorrow?" is not
an opt-out, "STOP" and "停止。" are.
"""

from __future__ import annotations

import unicodedata

STOP_WORDS = frozenset(
    {
        "stop",
        "stopall",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "停止",
        "配信停止",
        "ストップ",
        "解除",
        "配信解除",
    }
)


def asks_to_stop(text: str) -> bool:
    word = unicodedata.normalize("NFKC", text or "").strip().strip("。.!！?？ ").casefold()
    return word in STOP_WORDS
