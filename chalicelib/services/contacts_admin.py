"""Use cases behind the admin API: look up, list, export and erase contacts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chalicelib.domain.contact import REVISION, Contact
from chalicelib.domain.emails import InvalidEmailError, normalize_email
from chalicelib.domain.errors import NotFoundError
from chalicelib.domain.evaluation import current_scores
from chalicelib.domain.limits import ADMIN_PAGE
from chalicelib.domain.tally import Counts
from chalicelib.services.consent import ConsentRecords
from chalicelib.services.definitions import DefinitionsService
from chalicelib.services.ports import Clock, ContactDirectory, JourneyRepository, SiteDirectory, WorkQueue

MAX_PAGE = ADMIN_PAGE
SWEEP_AGAIN_S = 300  # well past any container's visitor-link cache (30 s) and a Lambda's run


class ContactNotFoundError(NotFoundError):
    pass


_INTERNAL = frozenset(
    {"scores", "scored_through", "scored_keys", "scored_version", "check_shard", "evaluated_at", REVISION}
    | {"line_permission_ms"}  # LINE's time of the event the permission is from: ordering only
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
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return value


class ContactsAdmin:
    def __init__(
        self,
        directory: ContactDirectory,
        events: SiteDirectory,
        definitions: DefinitionsService,
        consent: ConsentRecords,
        clock: Clock,
        journeys: JourneyRepository,
        queue: WorkQueue,
    ) -> None:
        self._queue = queue
        self._journeys = journeys
        self._consent = consent
        self._directory = directory
        self._events = events
        self._definitions = definitions
        self._clock = clock

    def get_by_id(self, contact_id: str) -> dict[str, Any]:
        contact = self._directory.find_by_id(contact_id)
        if contact is None:
            raise ContactNotFoundError(f"No contact has id {contact_id}.")
        return public_view(contact, self._current_scores(contact))

    def find_by_email(self, email: str) -> dict[str, Any]:
        try:
            normalized = normalize_email(email)
        except InvalidEmailError:
            raise ContactNotFoundError(f"No contact has email {email}.") from None
        contact = self._directory.find_by_email(normalized)
        if contact is None:
            raise ContactNotFoundError(f"No contact has email {email}.")
        return public_view(contact, self._current_scores(contact))

    def list_page(self, limit: int, cursor: str | None) -> dict[str, Any]:
        contacts, next_cursor = self._directory.page(max(1, min(limit, MAX_PAGE)), cursor)
        return {"contacts": [public_view(c) for c in contacts], "next_cursor": next_cursor}

    def timeline(self, contact_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
        """The person's page views, events and conversions, newest first."""
        self.get_by_id(contact_id)
        hits, next_cursor = self._events.timeline(f"c#{contact_id}", max(1, min(limit, 200)), cursor)
        return {"hits": hits, "next_cursor": next_cursor}

    def consent(self, contact_id: str) -> dict[str, Any]:
        """Every change of the person's permission, oldest first (the consent ledger)."""
        contact = self.get_by_id(contact_id)
        return {
            "contact_id": contact_id,
            "status": contact.get("status"),
            "topics": contact.get("topics", []),
            "entries": self._consent.history(contact_id),
        }

    def export(self, contact_id: str) -> dict[str, Any]:
        """Everything Sodate holds about one person (a data-subject access request)."""
        contact = self.get_by_id(contact_id)
        hits: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = self.timeline(contact_id, 200, cursor)
            hits += page["hits"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        return {
            "exported_at": self._now(),
            "contact": contact,
            "timeline": hits,
            "consent": self._consent.history(contact_id),
            "suppressed": self._directory.is_suppressed(contact["email"]),
        }

    def erase(self, contact_id: str) -> dict[str, Any]:
        """Delete the person; keep only a hash so the address is never mailed again.

        The suppression is written first: if the delete then fails, the address is
        already unmailable and the erase can simply be repeated.
        """
        contact = self._directory.find_by_id(contact_id)
        if contact is None:
            raise ContactNotFoundError(f"No contact has id {contact_id}.")
        self._directory.suppress(contact["email"], "erased", self._now())
        hits = self._events.erase_contact(contact_id, str(contact.get("line_user_id") or ""))
        entries = self._consent.erase(contact_id)  # the hashed suppression is what stays
        journeys = self._forget_journeys(contact_id)  # places hold the address, tasks a webhook's data
        self._directory.delete(contact["email"])
        self._queue.sweep_erased(contact_id, SWEEP_AGAIN_S)
        return {
            "erased": contact_id,
            "suppressed": True,
            "events_deleted": hits,
            "consent_entries_deleted": entries,
            "journey_items_deleted": journeys,
        }

    def sweep_erased(self, contact_id: str) -> int:
        """The erased person's history again: a page view that another warm container, whose
        visitor cache still held their link, recorded after the erasure."""
        if self._directory.find_by_id(contact_id) is not None:
            return 0  # never erased, or a stale message: nothing to sweep
        return self._events.erase_contact(contact_id)

    def _forget_journeys(self, contact_id: str) -> int:
        """Everything the scenarios kept for the person, gone; the report's gauges of who waits at
        each step no longer count them (a tick holding their place finds it gone and saves nothing)."""
        left = Counts()
        for place in self._journeys.places_of(contact_id):
            if place.running:
                left.moved(place.journey.scenario, place.journey.step, None)
        deleted = self._journeys.forget(contact_id)
        self._journeys.count(left.flush())
        return deleted

    def _current_scores(self, contact: Contact) -> dict[str, float]:
        now = datetime.fromtimestamp(self._clock(), UTC)
        scores = current_scores(self._definitions.in_force().definitions, contact, now)
        return {name: round(value, 2) for name, value in scores.items()}

    def _now(self) -> str:
        return datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="seconds")
