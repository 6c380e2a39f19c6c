"""Event records as AWS delivers them, turned into what the use cases take.

The one place that reads DynamoDB stream images and SQS bodies: the services
see timeline entries, changed contacts and SES events, never `{"S": ...}`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from chalicelib.domain.contact import REVISION, SMS_PERMISSION
from chalicelib.domain.errors import BadInputError
from chalicelib.domain.limits import loads
from chalicelib.domain.replies import is_sms_reply as is_sms_reply
from chalicelib.domain.replies import sms_reply as sms_reply
from chalicelib.domain.sms_receipts import is_sms_receipt as is_sms_receipt
from chalicelib.domain.sms_receipts import sms_receipt as sms_receipt
from chalicelib.domain.timeline import Recorded

if TYPE_CHECKING:
    from chalicelib.domain.contact import Contact
    from chalicelib.domain.figures import Fact

Record = dict[str, Any]
T = TypeVar("T")


class BadRecordError(BadInputError):
    """A record no retry can make sense of (it is parked, with this reason)."""


class Unreadable(NamedTuple):
    """A stream record that cannot be read: parked with its keys and the reason."""

    payload: dict[str, Any]
    reason: str


def _each_readable(
    records: list[Record], read: Callable[[Record], T | None], unreadable: list[Unreadable]
) -> Iterator[T]:
    """`read(record)` for every record; one that cannot be read is set aside, not fatal to the batch."""
    for record in records:
        try:
            found = read(record)
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as error:
            change = record.get("dynamodb") if isinstance(record, dict) else None
            keys = change.get("Keys") if isinstance(change, dict) else None
            event = record.get("eventName") if isinstance(record, dict) else None
            unreadable.append(
                Unreadable({"event": str(event), "keys": keys}, f"unreadable record: {error!r}")
            )
            continue
        if found is not None:
            yield found


def timeline_inserts(records: list[Record]) -> tuple[list[Recorded], list[Unreadable]]:
    """Entries newly written to a person's timeline (the events stream); the rest is ignored:
    anonymous visitors' hits, page summaries, links, and changes to existing entries."""
    unreadable: list[Unreadable] = []
    return list(_each_readable(records, _recorded, unreadable)), unreadable


def _recorded(record: Record) -> Recorded | None:
    image = record.get("dynamodb", {}).get("NewImage") or {}
    pk = _text(image, "pk")
    if record.get("eventName") != "INSERT" or not pk.startswith("c#") or len(pk) < 3 or "kind" not in image:
        return None
    props = image.get("props", {}).get("M", {})
    return Recorded(
        contact_id=pk[2:],
        key=_text(image, "sk"),
        kind=_text(image, "kind"),
        at=_text(image, "at"),
        path=_text(image, "path"),
        name=_text(image, "name"),
        props={str(k): str(v.get("S", "")) for k, v in props.items()},
        amount=_text(image, "amount"),
        skus=_text(image, "skus"),
        points=_text(image, "points"),
        score=_text(image, "score"),
        because=_text(image, "because"),
        bot="bot" in image,
        site=_text(image, "site"),
    )


def figure_facts(records: list[Record]) -> tuple[list[Fact], str]:
    """What the console counts in a batch of the events stream: every new entry and hit, known
    or anonymous (history moved from a visitor to a person is not new), and the batch's name
    (its first record's sequence number: Lambda hands a failed batch over again from there)."""
    from chalicelib.domain.figures import Fact

    facts = []
    for record in records:
        change = record.get("dynamodb") if isinstance(record, dict) else None
        image = change.get("NewImage") if isinstance(change, dict) else None
        if not isinstance(image, dict) or record.get("eventName") != "INSERT" or "moved" in image:
            continue
        pk, kind, at = _text(image, "pk"), _text(image, "kind"), _text(image, "at")
        if not kind or not at or pk[:2] not in ("c#", "v#", "a#"):
            continue
        facts.append(
            Fact(
                kind=kind,
                at=at,
                known=pk.startswith("c#"),
                amount=_text(image, "amount"),
                source=_text(image, "source"),
                bot="bot" in image,
                contact_id=pk[2:] if pk.startswith("c#") else "",
                name=_text(image, "name"),
                value=_text(image, "score"),
                order="order_id" in (image.get("props", {}).get("M", {})),
            )
        )
    return facts, _batch(records)


def contact_images(records: list[Record]) -> tuple[list[tuple[Record | None, Record | None]], str]:
    """(before, after) of each contact a batch of the contacts stream changed -- the fields the
    gauges and the people index read, None where the contact was not there -- and the batch's
    name.  The phone and the SMS permission may be kept among the attributes too."""
    fields = ("email", "status", "grade", "rfm", "name", "last_name", "first_name")

    def fields_of(image: Any) -> Record | None:
        if not isinstance(image, dict) or "email" not in image:
            return None
        attrs = image.get("attrs")
        attrs = attrs.get("M") if isinstance(attrs, dict) else None
        found = {name: _text(image, name) for name in fields}
        for name in ("phone", SMS_PERMISSION):
            found[name] = _text(image, name) or (_text(attrs, name) if isinstance(attrs, dict) else "")
        return found

    changes = []
    for record in records:
        change = record.get("dynamodb") if isinstance(record, dict) else None
        if isinstance(change, dict):
            changes.append((fields_of(change.get("OldImage")), fields_of(change.get("NewImage"))))
    return changes, _batch(records)


def _batch(records: list[Record]) -> str:
    first = records[0] if records and isinstance(records[0], dict) else {}
    change = first.get("dynamodb")
    return str(change.get("SequenceNumber") or "")[:80] if isinstance(change, dict) else ""


def contact_changes(records: list[Record]) -> tuple[list[Contact], list[str], list[Unreadable]]:
    """(contacts removed, emails of contacts changed by something other than evaluation itself,
    each once, in stream order, and the records that could not be read)."""
    from chalicelib.domain.evaluation import DERIVED, SCORING  # here: the beacon path never loads them
    from chalicelib.store.contact_codec import from_item

    evaluation_only = DERIVED | SCORING | {REVISION}  # evaluation's own writes count themselves too

    def read(record: Record) -> tuple[str, Any] | None:
        change = record.get("dynamodb", {})
        new, old = change.get("NewImage"), change.get("OldImage")
        if record.get("eventName") == "REMOVE" and old:
            gone = from_item(old)
            if not isinstance(gone.get("contact_id"), str) or not isinstance(
                gone.get("segments") or [], list
            ):
                raise ValueError("a removed contact without its id or segments")
            return "removed", gone
        if new and "email" in new and not _only(evaluation_only, old, new):
            email = _text(new, "email")
            if not 3 <= len(email) <= 320 or "@" not in email:
                raise ValueError(f"not a contact's email: {email[:80]!r}")
            return "changed", email
        return None

    unreadable: list[Unreadable] = []
    removed: list[Contact] = []
    changed: list[str] = []
    for kind, value in _each_readable(records, read, unreadable):
        if kind == "removed":
            removed.append(value)
        elif value not in changed:
            changed.append(value)
    return removed, changed, unreadable


def ses_event(body: str) -> dict[str, Any]:
    """One SQS message from the mail-feedback queue: SNS's envelope around an SES event (or
    the bare event, when the queue is subscribed without the envelope)."""
    try:
        message = loads(body, "the message")
        if isinstance(message, dict) and message.get("Type") == "Notification":
            message = loads(message["Message"], "the SES event")
    except (ValueError, TypeError, KeyError) as error:
        raise BadRecordError(f"not an SES event in JSON: {error}") from None
    if not isinstance(message, dict):
        raise BadRecordError("not an SES event: the body is not a JSON object")
    return message


def _text(image: Record, name: str) -> str:
    value = image.get(name)
    return str(value.get("S", "")) if isinstance(value, dict) else ""


def _only(fields: frozenset[str], old: Record | None, new: Record) -> bool:
    """True when a change touched nothing but these fields (what scoring and evaluation write)."""
    if old is None:
        return False
    return all(old.get(n) == new.get(n) for n in set(old) | set(new) if n not in fields)
