"""The consent ledger: every change of a person's permission to be mailed, kept as evidence.

特定電子メール法 (and GDPR, CAN-SPAM) asks a sender to be able to show, for
every person it mails, when and how they agreed -- and that an opt-out was
honoured.  So a change of permission is never a field overwritten but an entry
appended: when, what changed, where it came from (the import file and row; the
form, the wording shown and the page; the mail whose link was used), who did
it, and the (truncated) IP address and user agent of the browser that did it.

Entries are kept while the person can be mailed; once they cannot (pending,
unsubscribed, suppressed), the ledger expires RETENTION_DAYS after the last
change -- well past the law's month after the last mail, since no mail goes
after that change.  An erased person keeps only the hashed suppression.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .contact import GRANTED, Status

EMAIL, LINE, SMS = "email", "line", "sms"  # the channels a permission is for
RETENTION_DAYS = 3 * 365  # a ledger of someone who can no longer be mailed is kept this long
DETAIL_CHARS = 2000  # any one detail (the consent wording shown is the longest)
AGENT_CHARS = 256


class Change:
    REQUESTED = "requested"  # a form was sent for the address: the confirmation mail went out
    GRANTED = "granted"  # permission given (confirmed, single opt-in, an import's yes)
    WITHDRAWN = "withdrawn"  # unsubscribed (one-click, the preference page, an import's no)
    TOPICS = "topics"  # topics chosen on the preference page
    PAUSED = "paused"  # no mail until a date, asked on the preference page
    SUPPRESSED = "suppressed"  # a hard bounce or a complaint: never mailed again


@dataclass(frozen=True, slots=True)
class ConsentEntry:
    at: str  # ISO 8601, UTC, seconds
    change: str  # a Change
    source: str  # import, form, confirmation, preferences, unsubscribe, bounce, complaint
    actor: str  # person (the browser's owner), import (the file's uploader), mail-service
    status: str  # the person's status after this change
    detail: dict[str, str] = field(default_factory=dict)
    ip: str = ""  # truncated: the last octet (IPv4) or the last 80 bits (IPv6) are zero
    user_agent: str = ""
    channel: str = EMAIL  # whose permission changed: email, or line (its status: granted, withdrawn)

    def __post_init__(self) -> None:
        for value in self.detail.values():  # a loop, not any(): an import makes one entry a row
            if not isinstance(value, str) or len(value) > DETAIL_CHARS:
                object.__setattr__(self, "detail", {k: str(v)[:DETAIL_CHARS] for k, v in self.detail.items()})
                break
        if len(self.user_agent) > AGENT_CHARS:
            object.__setattr__(self, "user_agent", self.user_agent[:AGENT_CHARS])

    @property
    def mailable(self) -> bool:
        return self.status == Status.SUBSCRIBED

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "change": self.change,
            "source": self.source,
            "actor": self.actor,
            "status": self.status,
            "detail": dict(self.detail),
            "ip": self.ip,
            "user_agent": self.user_agent,
            "channel": self.channel,
        }


LedgerEntry = tuple[str, ConsentEntry, int | None]  # an entry to append: (contact id, entry, when it expires)


def expiry(entry: ConsentEntry, epoch: float) -> int | None:
    """When the ledger may go, as of this entry (None: kept, the person can be mailed).  Another
    channel's entry is kept with the ledger and goes when the whole ledger goes: expiring on its
    own, a later withdrawal could go before the grant it withdrew."""
    if entry.channel != EMAIL:
        return None
    return None if entry.mailable else int(epoch) + RETENTION_DAYS * 86400


def imported(at: str, file: str, line: int, status: str, channel: str = EMAIL) -> ConsentEntry:
    """An import row's yes or no: to mail (status subscribed / unsubscribed), or to text the
    person's phone (channel sms, status granted / withdrawn)."""
    change = Change.GRANTED if status in (Status.SUBSCRIBED, GRANTED) else Change.WITHDRAWN
    return ConsentEntry(
        at, change, "import", "import", status, {"file": file, "row": str(line)}, channel=channel
    )


REFUSALS = frozenset({"not_subscribed", "paused", "topic_off"})  # what `refusal` may answer


def refusal(contact: Mapping[str, Any], topic: str | None, now_iso: str) -> str | None:
    """Why a mail about `topic` may not go to this person now (None: it may).

    A person who subscribed through a form chose topics (`topics`); one whose consent came from
    an import agreed to all.  A topic turned off -- on the preference page, or by the one-click
    unsubscribe of a mail about it -- is in `topics_off`.  A pause holds every mail until its end."""
    if contact.get("status") != Status.SUBSCRIBED:
        return "not_subscribed"
    paused = contact.get("paused_until")
    if isinstance(paused, str) and paused > now_iso:
        return "paused"
    if topic and (
        topic in _set(contact.get("topics_off"))
        or ("topics" in contact and topic not in _set(contact["topics"]))
    ):
        return "topic_off"
    return None


def chosen(contact: Mapping[str, Any], every_topic: Iterable[str]) -> list[str]:
    """The topics this person receives now, of those defined (the preference page's ticks)."""
    return [
        t
        for t in every_topic
        if refusal({**contact, "status": Status.SUBSCRIBED, "paused_until": ""}, t, "") is None
    ]


def _set(value: Any) -> set[str]:
    return {str(v) for v in value} if isinstance(value, (set, frozenset, list, tuple)) else set()
