"""Keeps every contact's scores, grade and segments current, as events arrive.

- events stream: a contact's new hits are scored (once each, explained on its
  timeline), a tag-reported purchase is recorded, then the contact is
  evaluated; a "hot" entry written there is announced to sales;
- contacts stream: a change to a contact (an import, a purchase, an
  identification) re-evaluates that contact; changes that evaluation itself
  wrote do not;
- the sweep (every minute): only contacts whose `check_at` has come;
- the RFM job (daily): population quintiles, then the buyers whose RFM moved.

Entering or leaving a segment is an event on the contact's timeline, which
the scenario engine reads for entries and exits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from chalicelib.domain.commerce import parse_purchase, rfm_bounds, rfm_code
from chalicelib.domain.contact import Contact
from chalicelib.domain.errors import BadInputError, ConflictError, TransientError
from chalicelib.domain.evaluation import History, HitRecord, Move, apply_hits, evaluate
from chalicelib.domain.scoring import HitFacts
from chalicelib.domain.timeline import Recorded, hot_entry, score_entry
from chalicelib.services.batches import Isolation, Job
from chalicelib.services.definitions import DefinitionsService
from chalicelib.services.ports import Clock, ContactRepository, SegmentRepository
from chalicelib.services.sales_alerts import SalesAlerts

SCORED_KINDS = frozenset(
    {"pageview", "event", "conversion", "purchase", "form", "email_open", "email_click", "points"}
)
HISTORY_DAYS_WITHOUT_WINDOW = 90
ATTEMPTS = 4
RESERVE_MS = 60_000  # a re-evaluation run hands over with this much Lambda time left
SWEEP_RESERVE_MS = 10_000
MAX_SWEEP_ROUNDS = 1000  # a page per shard per round


class Evaluator:
    def __init__(
        self,
        state: ContactRepository,
        segments: SegmentRepository,
        definitions: DefinitionsService,
        alerts: SalesAlerts,
        clock: Clock,
        isolation: Isolation,
    ) -> None:
        self._state = state
        self._segments = segments
        self._definitions = definitions
        self._alerts = alerts
        self._clock = clock
        self._isolation = isolation

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    # --- the events stream ---------------------------------------------------------------------
    def on_events(self, entries: list[Recorded]) -> None:
        """New timeline entries: each person's hits scored together; hot entries announced.
        One person's poison records are parked; everyone else's go through."""
        hits: dict[str, list[Recorded]] = {}
        hot: list[Recorded] = []
        for entry in entries:
            if entry.kind == "hot":
                hot.append(entry)
            elif entry.kind in SCORED_KINDS and not entry.bot:
                hits.setdefault(entry.contact_id, []).append(entry)
        jobs: list[Job] = [
            (partial(self._score, contact_id, found), partial(_hits, contact_id, found))
            for contact_id, found in hits.items()
        ]
        jobs += [(partial(self._announce, entry), partial(_hot, entry)) for entry in hot]
        self._isolation.all("events_changed", jobs)

    def _score(self, contact_id: str, entries: list[Recorded]) -> None:
        for attempt in range(ATTEMPTS):
            contact = self._state.by_id(contact_id)
            if contact is None:
                return  # erased
            try:
                self._record_tag_purchases(contact, entries)
                self._score_hits(contact, entries)
            except ConflictError:
                if attempt == ATTEMPTS - 1:
                    raise
                continue
            self.evaluate(contact)  # as written: scoring and purchases updated it in place
            return

    def _record_tag_purchases(self, contact: Contact, entries: list[Recorded]) -> None:
        """A purchase the tag reported (conversion 'purchase' with an order_id) becomes an order."""
        for entry in entries:
            if entry.kind != "conversion" or entry.name != "purchase" or "order_id" not in entry.props:
                continue
            claims = {
                "order_id": entry.props["order_id"],
                "total": entry.amount or "0",
                "at": entry.at,
                "items": [s for s in entry.props.get("skus", "").split(",") if s.strip()],
            }
            try:
                purchase = parse_purchase(claims, "tag", entry.at, entry.site)
            except BadInputError:
                continue  # a malformed shop page must not stop scoring
            if self._state.record_purchase(contact, purchase, self.now().isoformat(timespec="seconds")):
                contact.update(self._state.by_email(contact["email"]) or {})

    def _score_hits(self, contact: Contact, entries: list[Recorded]) -> None:
        definitions = self._definitions.in_force().definitions
        hits = [_hit(entry) for entry in entries]
        before = list(contact.get("scored_keys") or [])
        scored = apply_hits(definitions, contact, hits)
        if contact.get("scored_keys") == before:
            return  # every hit here was scored before (a redelivered batch)
        timeline = [
            score_entry(
                hit.key,
                hit.at,
                change.score,
                change.rule,
                change.points,
                change.before,
                change.after,
                _because(hit),
            )
            for hit, change in scored.changes
        ]
        timeline += [
            hot_entry(hit.key, hit.at, change.score, change.after, _because(hit))
            for hit, change in scored.hot
        ]
        # Timeline first, with keys fixed by the hit: a retry rewrites the same entries.
        self._state.add_to_timeline(contact["contact_id"], timeline)
        self._state.save_scores(contact)

    def _announce(self, hot: Recorded) -> None:
        if not self._state.claim_alert(hot.contact_id, hot.key, self.now().isoformat(timespec="seconds")):
            return  # announced already (a redelivered record)
        contact = self._state.by_id(hot.contact_id)
        definitions = self._definitions.in_force().definitions
        if contact is None or not definitions.sales_alerts:
            return
        now = self.now()
        pages = self._state.history(hot.contact_id, now - timedelta(days=30)).visits[:10]
        try:
            self._alerts.send(definitions.sales_alerts, contact, hot, pages)
        except Exception:
            self._state.release_alert(hot.contact_id, hot.key)  # the retry sends it
            raise

    # --- the contacts stream -------------------------------------------------------------------
    def on_contacts(self, removed: list[Contact], changed: list[str]) -> None:
        """Erased people leave their segments; changed people (by email; stream images can be
        older than the item, so each is read afresh, once per batch) are evaluated together,
        or one by one when the batch fails, so one poison contact is parked alone."""
        jobs: list[Job] = [(partial(self._forget, gone), partial(_removed, gone)) for gone in removed]
        jobs.append((partial(self._evaluate_changed, changed), partial(dict, emails=changed)))
        self._isolation.all("contacts_changed", jobs)

    def _evaluate_changed(self, emails: list[str]) -> None:
        contacts = self._state.by_emails(emails)
        try:
            self.evaluate_many(contacts)
        except Exception:
            self._isolation.each("contacts_changed", contacts, self.evaluate, lambda c: {"email": c["email"]})

    def _forget(self, contact: Contact) -> None:
        for name in contact.get("segments") or []:
            self._segments.leave(name, contact["contact_id"])

    def _forget_entries(self, contact: Contact, moves: list[Move]) -> None:
        """The person was erased while this evaluation ran: the erasure's own leaving has gone
        by, so the segments this batch just put them in (with their address) are left again."""
        for move in moves:
            if move.contact_id == contact["contact_id"]:
                for name in move.entered:
                    self._segments.leave(name, move.contact_id)

    # --- evaluation ----------------------------------------------------------------------------
    def evaluate(self, contact: Contact) -> dict[str, Any]:
        """Grade, segments and next check for one contact (see evaluate_many)."""
        done = self.evaluate_many([contact])
        return done[0] if done else {}

    def evaluate_many(self, contacts: list[Contact]) -> list[dict[str, Any]]:
        """Grade, segments and next check; membership changes become timeline events.

        Writes are gathered across the batch: memberships in shared transactions, timeline
        entries in batch writes, then one small update per contact whose fields changed.  A
        membership change the store could not write yet (conflicts, throttling) is not saved
        on the contact; TransientError once the rest is saved, so the batch is tried again."""
        in_force = self._definitions.in_force()
        definitions = in_force.definitions
        if not contacts or not (definitions.segments or definitions.scores or definitions.profile):
            return []  # nothing defined yet: nothing to keep current
        now = self.now()
        at = now.isoformat(timespec="milliseconds")
        moves: list[Move] = []
        updates: list[tuple[Contact, dict[str, Any], list[str]]] = []
        results = []
        for contact in contacts:
            history = History()
            if definitions.timing.uses_history and contact.get("scored_through"):  # no hits, no history
                days = max(definitions.timing.windows, default=HISTORY_DAYS_WITHOUT_WINDOW)
                history = self._state.history(contact["contact_id"], now - timedelta(days=days))
            outcome = evaluate(definitions, contact, history, now, in_force.rfm)
            stored = set(contact.get("segments") or [])
            move = Move(
                contact["contact_id"],
                contact["email"],
                sorted(outcome.segments - stored),
                sorted(stored - outcome.segments),
            )
            moves.append(move)
            fields = outcome.fields()
            changed = {k: v for k, v in fields.items() if (contact.get(k) or None) != (v or None)}
            if changed or move.entered or move.left:
                updates.append((contact, changed, fields["segments"]))
            results.append({**fields, "scores": outcome.scores})
        moved = self._segments.move_many(moves, at)  # with their timeline entries, each change once
        missed = {m.contact_id for m in moved.missed}
        for contact, changed, wanted in updates:
            if contact["contact_id"] in missed:
                # Only what the membership table holds, so the contact never claims a segment
                # it is not in; the rest (check_at too: the sweep comes back) waits for the retry.
                held = moved.segments_of(contact["contact_id"], wanted)
                changed = {"segments": held} if held != sorted(contact.get("segments") or []) else {}
                if not changed:
                    continue
            if not self._state.save_derived(contact["email"], changed, at):
                self._forget_entries(contact, moves)
        if moved.missed:
            changes = sum(len(m.entered) + len(m.left) for m in moved.missed)
            raise TransientError(
                f"{changes} segment change(s) of {len(missed)} contact(s) could not be written yet"
                " (write conflicts or throttling); the retry makes them"
            )
        return results

    def reevaluate_all(
        self, stamp: str, start: dict[str, Any] | None, remaining_ms: Callable[[], int]
    ) -> dict[str, Any] | None:
        """After new definitions: everyone, a page at a time, until the run's time is nearly up.

        Returns where to go on (None: done, or a newer set of definitions took over)."""
        if stamp != self._definitions.stamp():
            return None
        self._definitions.forget()
        while True:
            page, start = self._state.page(start)
            self.evaluate_many(page)
            if start is None or remaining_ms() < RESERVE_MS:
                return start

    def sweep(self, remaining_ms: Callable[[], int] = lambda: 10**9, page: int = 100) -> int:
        """Re-evaluate contacts whose check time has come, shard by shard, a page at a time,
        until none is due or the run's time is nearly up (the next run goes on)."""
        definitions = self._definitions.in_force().definitions
        if not (definitions.segments or definitions.scores or definitions.profile):
            return 0
        now = self.now().isoformat(timespec="seconds")
        done = 0
        for _ in range(MAX_SWEEP_ROUNDS):
            found = 0
            for shard in range(self._state.shards):
                if remaining_ms() < SWEEP_RESERVE_MS:
                    return done
                emails = self._state.due(shard, now, page)
                if emails:
                    done += len(self.evaluate_many(self._state.by_emails(emails)))
                    found += len(emails)
            if not found:
                break
        return done

    def refresh_rfm(self) -> dict[str, Any]:
        """The population's RFM quintiles; then re-evaluate only the buyers whose RFM moved."""
        now = self.now()
        today = now.date()
        buyers = list(self._state.buyers())
        figures = []
        for buyer in buyers:
            last = buyer.get("last_purchase_date")
            if isinstance(last, str) and len(last) >= 10:
                days = (today - datetime.fromisoformat(last[:10]).date()).days
                figures.append(
                    (
                        max(days, 0),
                        max(int(buyer.get("purchase_count") or 1), 1),
                        float(buyer.get("total_spent") or 0),
                    )
                )
        bounds = rfm_bounds(figures, now.isoformat(timespec="seconds"))
        self._definitions.save_population("rfm", bounds.to_json())
        moved = 0
        for buyer in buyers:
            if rfm_code(bounds, buyer, today) != (buyer.get("rfm") or ""):
                contact = self._state.by_email(buyer["email"])
                if contact is not None:
                    self.evaluate(contact)
                    moved += 1
        return {**bounds.to_json(), "moved": moved}


def _hits(contact_id: str, entries: list[Recorded]) -> dict[str, Any]:
    return {"contact_id": contact_id, "entries": [e.key for e in entries]}


def _hot(entry: Recorded) -> dict[str, Any]:
    return {"contact_id": entry.contact_id, "hot": entry.key}


def _removed(contact: Contact) -> dict[str, Any]:
    return {"removed": contact["contact_id"]}


def _because(hit: HitRecord) -> str:
    """What the timeline says caused the points: the page for a view, the name otherwise."""
    facts = hit.facts
    return f"{facts.kind} {facts.path if facts.kind == 'pageview' else facts.name}".strip()


def _hit(entry: Recorded) -> HitRecord:
    skus = tuple(s for s in entry.skus.split(",") if s)
    points = float(entry.points or 0) if entry.kind == "points" else 0.0
    facts = HitFacts(entry.kind, entry.path, entry.name, False, skus, points)
    return HitRecord(entry.key, datetime.fromisoformat(entry.at), facts)
