"""People on the LINE channel: the contract outbound sends read, and the rules of linking.

A contact reaches LINE through two attributes:
- `line_user_id`: set only by a proven account link (LINE's accountLink event carrying a nonce we
  issued to someone we knew) -- never by anything a person or a form claims;
- `line_permission`: "granted" after a follow, "withdrawn" after an unfollow (a block) or a STOP
  reply; absent means the person never gave it.
A LINE user who follows before they are linked is remembered by their LINE user id, so the link,
once proven, carries the permission they gave.  Every change of a contact's LINE permission is an
entry in their consent ledger (channel "line").
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from .contact import GRANTED as GRANTED  # a channel permission's words, the contact's
from .contact import WITHDRAWN as WITHDRAWN

LINE_USER_ID = "line_user_id"
LINE_PERMISSION = "line_permission"
NONCE_SECONDS = 600  # as long as LINE's link token lives: the dialog is opened right away
EVENT_MEMORY_DAYS = 7  # a webhook event id is remembered this long (LINE redelivers within a day)
_LINK_TOKEN = re.compile(r"[0-9A-Za-z_-]{8,128}\Z")
LINK_WORDS = frozenset({"link", "連携", "アカウント連携", "連携する", "れんけい", "id連携"})


class LineUser(NamedTuple):
    """What Sodate knows of one LINE user: their permission (None: never said) as of the newest
    event applied (`at_ms`), and the contact they linked to ("" if none)."""

    user_id: str
    permission: str | None
    at_ms: int
    contact_id: str = ""


def asks_to_link(text: str) -> bool:
    """A message that asks for the account link (連携, link): the word alone, any width or case."""
    word = unicodedata.normalize("NFKC", text or "").strip().strip("。.!！?？ ").casefold()
    return word in LINK_WORDS


def valid_link_token(token: object) -> bool:
    return isinstance(token, str) and _LINK_TOKEN.match(token) is not None
