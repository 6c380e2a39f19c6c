"""Event records as AWS delivers them, turned into what the use cases take.

The one place that reads DynamoDB stream images and SQS bodies: the services
see timeline entries, changed contacts and SES events, never `{"S": ...}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.domain.errors import BadInputError
from chalicelib.domain.limits import loads
from chalicelib.domain.timeline import Recorded

if TYPE_CHECKING:
    from chalicelib.domain.contact import Contact

Record = dict[str, Any]


class BadRecordError(BadInputError):
    """A record no retry can make sense of (it is parked, with this reason)."""


def timeline_inserts(records: list[Record]) -> list[Recorded]:
    """Entries newly written to a person's timeline (the events stream); the rest is ignored:
    anonymous visitors' hits, page summaries, links, and changes to existing entries."""
    found = []
    for record in records:
        image = record.get("dynamodb", {}).get("NewImage") or {}
        pk = _text(image, "pk")
        if record.get("eventName") != "INSERT" or not pk.startswith("c#") or "kind" not in image:
            continue
        props = image.get("props", {}).get("M", {})
        found.append(
            Recorded(
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
            )
        )
    return found


def contact_changes(records: list[Record]) -> tuple[list[Contact], list[str]]:
    """(contacts removed, emails of contacts changed by something other than evaluation itself),
    each email once, in stream order."""
    from chalicelib.domain.evaluation import DERIVED, SCORING  # here: the beacon path never loads them
    from chalicelib.store.contact_codec import from_item

    evaluation_only = DERIVED | SCORING
    removed: list[Contact] = []
    changed: list[str] = []
    for record in records:
        change = record.get("dynamodb", {})
        new, old = change.get("NewImage"), change.get("OldImage")
        if record.get("eventName") == "REMOVE" and old:
            removed.append(from_item(old))
        elif new and "email" in new and not _only(evaluation_only, old, new):
            email = _text(new, "email")
            if email not in changed:
                changed.append(email)
    return removed, changed


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
