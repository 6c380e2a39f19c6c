"""In-memory twins of the contact ports: people, their timelines, segments, the do-not-mail list.

They keep what DynamoDB would and refuse what it would refuse (a score written from a stale
read, a segment entered twice), so a service test catches the same mistakes moto does.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from chalicelib.domain.commerce import Purchase, with_purchase
from chalicelib.domain.contact import NEVER_AGAIN, Contact
from chalicelib.domain.errors import ConflictError, TransientError
from chalicelib.domain.evaluation import History, Move, Moved
from chalicelib.domain.segments.facts import Visit
from chalicelib.domain.timeline import segment_entry


class MemoryPeople:
    """The contacts table and the timelines (ContactRepository and ContactDirectory)."""

    shards = 1

    def __init__(self) -> None:
        self.contacts: dict[str, Contact] = {}  # by email
        self.timelines: dict[str, dict[str, dict[str, str]]] = {}  # contact id -> sk -> entry
        self.suppressed: dict[str, str] = {}  # email -> reason
        self.alerted: set[tuple[str, str]] = set()
        self.orders: dict[tuple[str, str], tuple[str, str]] = {}  # (site, order id) -> (contact, source)

    # --- what tests set up and look at ---------------------------------------------------------
    def add(self, email: str, contact_id: str, **fields: Any) -> Contact:
        self.contacts[email] = {"email": email, "contact_id": contact_id, **fields}
        return self.contacts[email]

    def entries(self, contact_id: str, kind: str | None = None) -> list[dict[str, str]]:
        found = sorted(self.timelines.get(contact_id, {}).values(), key=lambda e: e["sk"])
        return [e for e in found if kind is None or e["kind"] == kind]

    # --- ContactDirectory ------------------------------------------------------------------------
    def find_by_email(self, normalized_email: str) -> Contact | None:
        return self.by_email(normalized_email)

    def find_by_id(self, contact_id: str) -> Contact | None:
        return self.by_id(contact_id)

    def page(self, limit: int, cursor: Any = None) -> Any:
        emails = sorted(self.contacts)
        start = emails.index(cursor) + 1 if isinstance(cursor, str) and cursor in emails else 0
        page = [copy.deepcopy(self.contacts[e]) for e in emails[start : start + limit]]
        more = start + limit < len(emails)
        return page, (emails[start + limit - 1] if more else None)

    def create_if_absent(self, contact: Contact) -> bool:
        if contact["email"] in self.contacts:
            return False
        self.contacts[contact["email"]] = copy.deepcopy(contact)
        return True

    def delete(self, normalized_email: str) -> None:
        self.contacts.pop(normalized_email, None)

    def suppress(self, normalized_email: str, reason: str, at: str) -> None:
        if self.suppressed.get(normalized_email) not in NEVER_AGAIN:
            self.suppressed[normalized_email] = reason

    def is_suppressed(self, normalized_email: str) -> bool:
        return normalized_email in self.suppressed

    def suppression_of(self, normalized_email: str) -> str | None:
        reason = self.suppressed.get(normalized_email)
        return reason.split(":", 1)[0] if reason else None

    def lift_unsubscribe(self, normalized_email: str) -> None:
        if self.suppressed.get(normalized_email, "").startswith("unsubscribed"):
            del self.suppressed[normalized_email]

    def turn_off_topic(self, email: str, topic: str, at: str) -> bool:
        contact = self.contacts.get(email)
        if contact is None or topic in contact.get("topics_off", set()):
            return False
        contact["topics_off"] = set(contact.get("topics_off", set())) | {topic}
        if "topics" in contact:
            contact["topics"] = set(contact["topics"]) - {topic}
        return True

    def set_preferences(self, email: str, on: list[str], off: list[str], paused_until: str, at: str) -> bool:
        contact = self.contacts.get(email)
        if contact is None or contact.get("status") != "subscribed":
            return False
        for name, chosen in (("topics", on), ("topics_off", off)):
            if chosen:
                contact[name] = set(chosen)
            else:
                contact.pop(name, None)
        if paused_until:
            contact["paused_until"] = paused_until
        else:
            contact.pop("paused_until", None)
        return True

    def grant(
        self,
        email: str,
        fields: dict[str, Any],
        topics: list[str],
        source: str,
        at: str,
        every_topic: bool = False,
    ) -> str | None:
        contact = self.contacts.get(email)
        if contact is None or contact.get("status") == "suppressed":
            return None
        was = str(contact.get("status", "pending"))
        attrs = fields.get("attrs") or {}
        contact.update({k: v for k, v in fields.items() if k != "attrs"})
        contact["attrs"] = {**contact.get("attrs", {}), **attrs}
        if topics and not every_topic:
            contact["topics"] = set(contact.get("topics", set())) | set(topics)
        if topics:
            contact["topics_off"] = set(contact.get("topics_off", set())) - set(topics)
        contact.update(status="subscribed", consent_source=source, consent_at=at, updated_at=at)
        return was

    # --- ContactRepository: reads ----------------------------------------------------------------
    def by_id(self, contact_id: str) -> Contact | None:
        email = self.email_of(contact_id)
        return self.by_email(email) if email else None

    def by_email(self, email: str) -> Contact | None:
        found = self.contacts.get(email)
        return copy.deepcopy(found) if found else None

    def by_emails(self, emails: list[str]) -> list[Contact]:
        return [copy.deepcopy(self.contacts[e]) for e in emails if e in self.contacts]

    def email_of(self, contact_id: str) -> str | None:
        return next((e for e, c in self.contacts.items() if c["contact_id"] == contact_id), None)

    def for_sending(self, email: str) -> tuple[Contact | None, bool]:
        return self.by_email(email), email in self.suppressed

    def history(self, contact_id: str, since: datetime) -> History:
        history = History()
        for entry in reversed(self.entries(contact_id)):
            if "bot" in entry or entry.get("at", "") < since.isoformat(timespec="milliseconds"):
                continue
            at = datetime.fromisoformat(entry["at"])
            if entry["kind"] == "pageview":
                history.visits.append(Visit(entry.get("path", ""), at))
            elif entry["kind"] in ("event", "conversion", "form") and entry["name"] not in history.events:
                history.events[entry["name"]] = at
        return history

    def due(self, shard: int, now: str, limit: int) -> list[str]:
        due = sorted((c["check_at"], e) for e, c in self.contacts.items() if c.get("check_at"))
        return [e for at, e in due if at <= now][:limit]

    def dated(self, fields: list[str], start: Any, limit: int = 1000) -> Any:
        held = [copy.deepcopy(c) for c in self.contacts.values() if any(f in c for f in fields)]
        return held, None

    def buyers(self) -> Iterator[Contact]:
        yield from (copy.deepcopy(c) for c in self.contacts.values() if c.get("last_purchase_date"))

    # --- ContactRepository: writes ---------------------------------------------------------------
    def save_scores(self, contact: Contact) -> None:
        stored = self.contacts.get(contact["email"])
        was = int(contact.get("scored_version") or 0)
        if stored is None or int(stored.get("scored_version") or 0) != was:
            raise ConflictError(contact["email"])
        for name in ("scores", "scored_through", "scored_keys"):
            stored[name] = copy.deepcopy(contact[name])
        stored["scored_version"] = contact["scored_version"] = was + 1

    def save_derived(self, email: str, fields: dict[str, Any], at: str) -> bool:
        stored = self.contacts.get(email)
        if stored is None:
            return False
        for name, value in fields.items():
            if value in (None, ""):
                stored.pop(name, None)
            else:
                stored[name] = copy.deepcopy(value)
        stored["evaluated_at"] = at
        return True

    def set_attrs(self, email: str, attrs: dict[str, str]) -> None:
        if email in self.contacts:
            self.contacts[email].setdefault("attrs", {}).update(attrs)

    def block(self, email: str, status: str, reason: str, at: str) -> bool:
        stored = self.contacts.get(email)
        if stored is None or stored.get("status") in (status, "suppressed"):
            return False
        stored.update(status=status, consent_source=reason, consent_at=at)
        return True

    def record_purchase(self, contact: Contact, purchase: Purchase, at: str) -> bool:
        key = f"{purchase.at}#order#{purchase.order_id}"
        marked = self.orders.get((purchase.site, purchase.order_id))
        if marked is not None and not (
            purchase.source == "api" and marked[1] == "tag" and marked[0] != contact["contact_id"]
        ):
            return False
        stored = self.contacts.get(contact["email"])
        if stored is None or stored.get("purchase_count") != contact.get("purchase_count"):
            raise ConflictError(contact["email"])
        stored.update(with_purchase(contact, purchase))
        self.orders[(purchase.site, purchase.order_id)] = (contact["contact_id"], purchase.source)
        self.add_to_timeline(contact["contact_id"], [{"sk": key, "kind": "purchase", "at": purchase.at}])
        return True

    def claim_alert(self, contact_id: str, entry_key: str, at: str) -> bool:
        if (contact_id, entry_key) in self.alerted:
            return False
        self.alerted.add((contact_id, entry_key))
        return True

    def release_alert(self, contact_id: str, entry_key: str) -> None:
        self.alerted.discard((contact_id, entry_key))

    def add_to_timeline(self, contact_id: str, entries: list[dict[str, str]]) -> None:
        for entry in entries:
            self.timelines.setdefault(contact_id, {})[entry["sk"]] = dict(entry)

    def add_to_timelines(self, entries: list[tuple[str, dict[str, str]]]) -> None:
        for contact_id, entry in entries:
            self.add_to_timeline(contact_id, [entry])


class MemorySegments:
    """Segment membership (SegmentRepository): a change made before is refused, so recorded once.
    A change to a segment in `busy` (its size item contended past the store's retries) is
    missed, as the DynamoDB store hands it back."""

    def __init__(self, people: MemoryPeople) -> None:
        self._people = people
        self.members_of: dict[str, dict[str, dict[str, str]]] = {}
        self.busy: set[str] = set()

    def move_many(self, moves: list[Move], at: str) -> Moved:
        made, missed = [], []
        for move in moves:
            for name in move.entered:
                members = self.members_of.setdefault(name, {})
                if name not in self.busy and move.contact_id not in members:
                    members[move.contact_id] = {
                        "contact_id": move.contact_id,
                        "email": move.email,
                        "since": at,
                    }
                    made.append((move.contact_id, segment_entry(at, name, True)))
            for name in move.left:
                if name not in self.busy and self.members_of.get(name, {}).pop(move.contact_id, None):
                    made.append((move.contact_id, segment_entry(at, name, False)))
            entered, left = (
                [n for n in move.entered if n in self.busy],
                [n for n in move.left if n in self.busy],
            )
            if entered or left:
                missed.append(Move(move.contact_id, move.email, entered, left))
        self._people.add_to_timelines(made)
        return Moved(made, missed)

    def leave(self, segment: str, contact_id: str) -> bool:
        if segment in self.busy:
            raise TransientError(f"{segment}: DynamoDB kept cancelling a transaction (TransactionConflict)")
        return self.members_of.get(segment, {}).pop(contact_id, None) is not None

    def sizes(self, segments: list[str]) -> dict[str, int]:
        return {s: len(self.members_of.get(s, {})) for s in segments}

    def members(self, segment: str, limit: int, cursor: str | None) -> tuple[list[dict[str, str]], None]:
        return list(self.members_of.get(segment, {}).values())[:limit], None

    def all_members(self, segment: str) -> Iterator[dict[str, str]]:
        yield from list(self.members_of.get(segment, {}).values())
