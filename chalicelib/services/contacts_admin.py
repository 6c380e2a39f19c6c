"""Use cases behind the admin API: look up, list, export and erase contacts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chalicelib.domain.contact import Contact
from chalicelib.domain.emails import InvalidEmailError, normalize_email
from chalicelib.domain.errors import NotFoundError
from chalicelib.store import contacts as repo
from chalicelib.store.contacts import InvalidCursorError

MAX_PAGE = 200
__all__ = ["ContactNotFoundError", "InvalidCursorError"]


class ContactNotFoundError(NotFoundError):
    pass


_INTERNAL = frozenset(
    {"scores", "scored_through", "scored_keys", "scored_version", "check_shard", "evaluated_at"}
)


def public_view(contact: Contact, scores: dict[str, float] | None = None) -> dict[str, Any]:
    """JSON-ready: money stays exact as a number, custom attributes nested, scores as of now."""
    view: dict[str, Any] = {
        name: _plain(value) for name, value in sorted(contact.items()) if name not in _INTERNAL
    }
    view.setdefault("attrs", {})
    view["scores"] = scores or {}
    return view


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _current_scores(contact: Contact) -> dict[str, float]:
    from chalicelib.domain.evaluation import current_scores
    from chalicelib.services.wiring import definitions

    scores = current_scores(definitions().in_force().definitions, contact, datetime.now(UTC))
    return {name: round(value, 2) for name, value in scores.items()}


def get_by_id(contact_id: str) -> dict[str, Any]:
    contact = repo.find_by_id(contact_id)
    if contact is None:
        raise ContactNotFoundError(f"No contact has id {contact_id}.")
    return public_view(contact, _current_scores(contact))


def find_by_email(email: str) -> dict[str, Any]:
    try:
        normalized = normalize_email(email)
    except InvalidEmailError:
        raise ContactNotFoundError(f"No contact has email {email}.") from None
    contact = repo.find_by_email(normalized)
    if contact is None:
        raise ContactNotFoundError(f"No contact has email {email}.")
    return public_view(contact, _current_scores(contact))


def list_page(limit: int, cursor: str | None) -> dict[str, Any]:
    contacts, next_cursor = repo.page_of_contacts(max(1, min(limit, MAX_PAGE)), cursor)
    return {"contacts": [public_view(c) for c in contacts], "next_cursor": next_cursor}


def timeline(contact_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """The person's page views, events and conversions, newest first."""
    get_by_id(contact_id)
    from chalicelib.services.admin_stores import event_admin

    hits, next_cursor = event_admin().timeline(f"c#{contact_id}", max(1, min(limit, 200)), cursor)
    return {"hits": hits, "next_cursor": next_cursor}


def export(contact_id: str) -> dict[str, Any]:
    """Everything Sodate holds about one person (a data-subject access request)."""
    contact = get_by_id(contact_id)
    hits: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = timeline(contact_id, 200, cursor)
        hits += page["hits"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    return {
        "exported_at": _now(),
        "contact": contact,
        "timeline": hits,
        "suppressed": repo.is_suppressed(contact["email"]),
    }


def erase(contact_id: str) -> dict[str, Any]:
    """Delete the person; keep only a hash so the address is never mailed again.

    The suppression is written first: if the delete then fails, the address is
    already unmailable and the erase can simply be repeated.
    """
    contact = repo.find_by_id(contact_id)
    if contact is None:
        raise ContactNotFoundError(f"No contact has id {contact_id}.")
    repo.suppress(contact["email"], "erased", _now())
    from chalicelib.services.admin_stores import event_admin

    hits = event_admin().erase_contact(contact_id)
    repo.delete_contact(contact["email"])
    return {"erased": contact_id, "suppressed": True, "events_deleted": hits}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
