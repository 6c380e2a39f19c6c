"""A contact and the merge rules of an import.

Rules a marketer can rely on:
- a non-empty cell updates the field, an empty cell never erases one;
- consent is a record (status, where it came from, when), not a flag;
- an import never subscribes someone who unsubscribed or was suppressed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from .rows import ContactRow

Contact = dict[str, Any]


def display_name(contact: Contact) -> str:
    """The name as given, else family and given name ('' when none is known)."""
    parts = (contact.get("last_name"), contact.get("first_name"))
    return str(contact.get("name") or " ".join(str(p) for p in parts if p))


class Status:
    PENDING = "pending"  # no opt-in on record: not to be sent marketing email
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    SUPPRESSED = "suppressed"  # bounced, complained or erased: never mailable

    BLOCKED = frozenset({UNSUBSCRIBED, SUPPRESSED})


NEVER_AGAIN = ("erased", "bounced", "complained")  # do-not-mail reasons for good: no form lifts them


class Outcome(Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Source:
    """Where a change came from: 'import:customers.csv' at an ISO time."""

    name: str
    at: str


@dataclass(slots=True)
class Merged:
    contact: Contact
    outcome: Outcome
    consent_refused: bool = False  # the row said yes, but the person had opted out


@dataclass(slots=True)
class Newcomer:
    """A person a file brings for the first time, before they are a Contact: what `create`
    makes of a row, kept as the row itself so a store writing thousands a second can build
    its item straight from it.  `contact()` is the same person as a Contact."""

    row: ContactRow
    contact_id: str
    source: Source
    status: str  # pending, or subscribed / unsubscribed as the row's consent cell said

    def contact(self) -> Contact:
        """The contact (it shares the row's dicts: rows are used once)."""
        source, row = self.source, self.row
        contact: Contact = {
            "email": row.email,
            "contact_id": self.contact_id,
            "status": self.status,
            "source": source.name,
            "created_at": source.at,
            "updated_at": source.at,
            "attrs": row.attrs,
            **row.fields,
        }
        if self.status != Status.PENDING:
            contact["consent_source"] = source.name
            contact["consent_at"] = source.at
        return contact


REVISION = "revision"  # how many writes a contact has had: a write made from a read expects the count read
SMS_PERMISSION = "sms_permission"  # "granted" / "withdrawn" as a row or a STOP reply said; absent: never
GRANTED, WITHDRAWN = "granted", "withdrawn"  # a channel permission (SMS, LINE): the words every channel uses


def newcomer(row: ContactRow, contact_id: str, source: Source) -> Newcomer:
    """A new person from a row; the row's consent cell becomes their status, its SMS consent
    cell their permission to be texted."""
    fields = row.fields
    if "sms_consent" in fields:
        fields[SMS_PERMISSION] = GRANTED if fields.pop("sms_consent") else WITHDRAWN
    consent = fields.pop("consent") if "consent" in fields else None
    if consent is None:
        return Newcomer(row, contact_id, source, Status.PENDING)
    return Newcomer(row, contact_id, source, Status.SUBSCRIBED if consent else Status.UNSUBSCRIBED)


def row_again(new: Newcomer) -> ContactRow:
    """The row `newcomer` took in, as it was (the consent cells it turned into a status and a
    permission put back): a newcomer whose write lost the race to someone else creating them
    is merged into that person instead, as the row."""
    row = new.row
    fields = dict(row.fields)
    if SMS_PERMISSION in fields:
        fields["sms_consent"] = fields.pop(SMS_PERMISSION) == GRANTED
    if new.status != Status.PENDING:
        fields["consent"] = new.status == Status.SUBSCRIBED
    return ContactRow(row.line, row.email, fields, row.attrs)


def create(row: ContactRow, contact_id: str, source: Source) -> Merged:
    """A new person from a row, as a Contact."""
    return Merged(newcomer(row, contact_id, source).contact(), Outcome.CREATED)


def merge(existing: Contact, row: ContactRow, source: Source) -> Merged:
    contact = dict(existing)
    contact["attrs"] = {**existing.get("attrs", {}), **row.attrs}
    fields = dict(row.fields)
    consent = fields.pop("consent", None)
    texts = fields.pop("sms_consent", None)
    contact.update(fields)
    # A file may withdraw SMS permission, or give it to someone who never said; never give it
    # back to one who withdrew it (a STOP reply, an earlier file's no).
    if texts is False or (texts is True and SMS_PERMISSION not in existing):
        contact[SMS_PERMISSION] = GRANTED if texts else WITHDRAWN
    refused = False
    if consent is True and existing.get("status") in Status.BLOCKED:
        refused = True
    elif consent is True and existing.get("status") == Status.PENDING:
        _record_consent(contact, True, source)
    elif consent is False and existing.get("status") in (Status.PENDING, Status.SUBSCRIBED):
        _record_consent(contact, False, source)
    if contact == existing:
        return Merged(existing, Outcome.UNCHANGED, refused)
    contact["updated_at"] = source.at
    return Merged(contact, Outcome.UPDATED, refused)


def _record_consent(contact: Contact, granted: bool, source: Source) -> None:
    contact["status"] = Status.SUBSCRIBED if granted else Status.UNSUBSCRIBED
    contact["consent_source"] = source.name
    contact["consent_at"] = source.at


def fold_duplicate(first: ContactRow, later: ContactRow) -> ContactRow:
    """Two rows for one person in one file: later non-empty cells win."""
    return ContactRow(
        first.line,
        first.email,
        {**first.fields, **later.fields},
        {**first.attrs, **later.attrs},
    )
