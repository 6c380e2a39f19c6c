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

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.commerce import parse_purchase, rfm_bounds, rfm_code
from chalicelib.domain.contact import Contact
from chalicelib.domain.errors import BadInputError
from chalicelib.domain.evaluation import DERIVED, SCORING, History, HitRecord, apply_hits, evaluate
from chalicelib.domain.scoring import HitFacts
from chalicelib.services.definitions import DefinitionsService
from chalicelib.services.sales_alerts import SalesAlerts
from chalicelib.store.contact_codec import from_item
from chalicelib.store.contact_state import SHARDS, ConflictError, ContactState
from chalicelib.store.segments import Move, SegmentStore

SCORED_KINDS = frozenset(
    {"pageview", "event", "conversion", "purchase", "form", "email_open", "email_click", "points"}
)
HISTORY_DAYS_WITHOUT_WINDOW = 90
ATTEMPTS = 4
logger = Logger(service="sodate", child=True)
RESERVE_MS = 60_000  # a re-evaluation run hands over with this much Lambda time left
SWEEP_RESERVE_MS = 10_000
MAX_SWEEP_ROUNDS = 1000  # a page per shard per round


class Evaluator:
    def __init__(
        self,
        state: ContactState,
        segments: SegmentStore,
        definitions: DefinitionsService,
        alerts: SalesAlerts,
        clock: Callable[[], float] = time.time,
        park: Callable[[str, dict[str, Any], str], None] | None = None,
    ) -> None:
        self._park = park
        self._state = state
        self._segments = segments
        self._definitions = definitions
        self._alerts = alerts
        self._clock = clock

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    # --- the events stream ---------------------------------------------------------------------
    def on_events(self, records: list[dict[str, Any]]) -> None:
        hits: dict[str, list[dict[str, Any]]] = {}
        hot: list[dict[str, Any]] = []
        for record in records:
            image = record.get("dynamodb", {}).get("NewImage") or {}
            pk = image.get("pk", {}).get("S", "")
            if record.get("eventName") != "INSERT" or not pk.startswith("c#"):
                continue
            kind = image.get("kind", {}).get("S")
            if kind == "hot":
                hot.append(image)
            elif kind in SCORED_KINDS and "bot" not in image:
                hits.setdefault(pk[2:], []).append(image)
        for contact_id, items in hits.items():
            self._isolated(
                "events_changed", {"contact_id": contact_id, "items": items}, self._score, contact_id, items
            )
        for image in hot:
            self._isolated("events_changed", {"hot": image}, self._announce, image)

    def _isolated(self, handler: str, payload: dict[str, Any], work: Callable[..., Any], *args: Any) -> None:
        """One person's records must not hold up everyone's: a failure no retry can fix is
        parked on the dead-letter queue with its records; a transient one fails the batch
        (the stream retries it, and the work is idempotent)."""
        try:
            work(*args)
        except Exception as error:
            if self._park is None or transient(error):
                raise
            logger.exception("parked a stream record", extra={"handler": handler})
            self._park(handler, payload, repr(error))

    def _score(self, contact_id: str, items: list[dict[str, Any]]) -> None:
        for attempt in range(ATTEMPTS):
            contact = self._state.by_id(contact_id)
            if contact is None:
                return  # erased
            try:
                self._record_tag_purchases(contact, items)
                self._score_hits(contact, items)
            except ConflictError:
                if attempt == ATTEMPTS - 1:
                    raise
                continue
            self.evaluate(contact)  # as written: scoring and purchases updated it in place
            return

    def _record_tag_purchases(self, contact: Contact, items: list[dict[str, Any]]) -> None:
        """A purchase the tag reported (conversion 'purchase' with an order_id) becomes an order."""
        for item in items:
            props = {k: v.get("S", "") for k, v in item.get("props", {}).get("M", {}).items()}
            if (
                item["kind"]["S"] != "conversion"
                or item.get("name", {}).get("S") != "purchase"
                or "order_id" not in props
            ):
                continue
            claims = {
                "order_id": props["order_id"],
                "total": item.get("amount", {}).get("S", "0") or "0",
                "at": item["at"]["S"],
                "items": [s for s in props.get("skus", "").split(",") if s.strip()],
            }
            try:
                purchase = parse_purchase(claims, "tag", item["at"]["S"])
            except BadInputError:
                continue  # a malformed shop page must not stop scoring
            if self._state.record_purchase(contact, purchase, self.now().isoformat(timespec="seconds")):
                contact.update(self._state.by_email(contact["email"]) or {})

    def _score_hits(self, contact: Contact, items: list[dict[str, Any]]) -> None:
        definitions = self._definitions.in_force().definitions
        hits = [_hit(item) for item in items]
        before = list(contact.get("scored_keys") or [])
        scored = apply_hits(definitions, contact, hits)
        if contact.get("scored_keys") == before:
            return  # every hit here was scored before (a redelivered batch)
        entries = [
            {
                "sk": f"{hit.key}#score#{change.score}#{change.rule}",
                "kind": "score",
                "at": hit.at.isoformat(timespec="milliseconds"),
                "name": change.score,
                "rule": change.rule,
                "points": f"{change.points:g}",
                "before": f"{change.before:.2f}",
                "after": f"{change.after:.2f}",
                "because": _because(hit),
            }
            for hit, change in scored.changes
        ]
        entries += [
            {
                "sk": f"{hit.key}#hot#{change.score}",
                "kind": "hot",
                "at": hit.at.isoformat(timespec="milliseconds"),
                "name": change.score,
                "score": f"{change.after:.2f}",
                "because": _because(hit),
            }
            for hit, change in scored.hot
        ]
        # Timeline first, with keys fixed by the hit: a retry rewrites the same entries.
        self._state.add_to_timeline(contact["contact_id"], entries)
        self._state.save_scores(contact)

    def _announce(self, image: dict[str, Any]) -> None:
        contact_id = image["pk"]["S"][2:]
        if not self._state.claim_alert(
            image["pk"]["S"], image["sk"]["S"], self.now().isoformat(timespec="seconds")
        ):
            return  # announced already (a redelivered record)
        contact = self._state.by_id(contact_id)
        definitions = self._definitions.in_force().definitions
        if contact is None or not definitions.sales_alerts:
            return
        now = self.now()
        pages = self._state.history(contact_id, now - timedelta(days=30)).visits[:10]
        try:
            self._alerts.send(definitions.sales_alerts, contact, image, pages)
        except Exception:
            self._state.release_alert(image["pk"]["S"], image["sk"]["S"])  # the retry sends it
            raise

    # --- the contacts stream -------------------------------------------------------------------
    def on_contacts(self, records: list[dict[str, Any]]) -> None:
        """Stream images can be older than the item: each contact is read afresh, once per batch."""
        changed: list[str] = []
        for record in records:
            change = record.get("dynamodb", {})
            new, old = change.get("NewImage"), change.get("OldImage")
            if record.get("eventName") == "REMOVE" and old:
                self._isolated("contacts_changed", {"removed": old}, self._forget, from_item(old))
            elif new and not _only_ours(old, new) and new["email"]["S"] not in changed:
                changed.append(new["email"]["S"])
        contacts = self._state.by_emails(changed)
        try:
            self.evaluate_many(contacts)
        except Exception as error:
            if self._park is None or transient(error):
                raise
            for contact in contacts:  # find the one that fails; the others go through
                self._isolated("contacts_changed", {"email": contact["email"]}, self.evaluate, contact)

    def _forget(self, contact: Contact) -> None:
        for name in contact.get("segments") or []:
            self._segments.leave(name, contact["contact_id"])

    # --- evaluation ----------------------------------------------------------------------------
    def evaluate(self, contact: Contact) -> dict[str, Any]:
        """Grade, segments and next check for one contact (see evaluate_many)."""
        done = self.evaluate_many([contact])
        return done[0] if done else {}

    def evaluate_many(self, contacts: list[Contact]) -> list[dict[str, Any]]:
        """Grade, segments and next check; membership changes become timeline events.

        Writes are gathered across the batch: memberships in shared transactions, timeline
        entries in batch writes, then one small update per contact whose fields changed."""
        in_force = self._definitions.in_force()
        definitions = in_force.definitions
        if not contacts or not (definitions.segments or definitions.scores or definitions.profile):
            return []  # nothing defined yet: nothing to keep current
        now = self.now()
        at = now.isoformat(timespec="milliseconds")
        moves: list[Move] = []
        entries: list[tuple[str, dict[str, str]]] = []
        updates: list[tuple[str, dict[str, Any]]] = []
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
            entries += [
                (move.contact_id, {"sk": f"{at}#segment#{n}", "kind": "segment_enter", "name": n, "at": at})
                for n in move.entered
            ]
            entries += [
                (move.contact_id, {"sk": f"{at}#segment#{n}", "kind": "segment_leave", "name": n, "at": at})
                for n in move.left
            ]
            fields = outcome.fields()
            changed = {k: v for k, v in fields.items() if (contact.get(k) or None) != (v or None)}
            if changed or move.entered or move.left:
                updates.append((contact["email"], changed))
            results.append({**fields, "scores": outcome.scores})
        self._segments.move_many(moves, at)
        self._state.add_to_timelines(entries)
        for email, changed in updates:
            self._state.save_derived(email, changed, at)
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
            for shard in range(SHARDS):
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


_TRANSIENT = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
        "Throttling",
    }
)


def transient(error: Exception) -> bool:
    """Worth retrying the whole batch: throttling, a service hiccup, the network, a write race."""
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code") in _TRANSIENT
    return isinstance(error, (BotoCoreError, ConflictError))


def _because(hit: HitRecord) -> str:
    """What the timeline says caused the points: the page for a view, the name otherwise."""
    facts = hit.facts
    return f"{facts.kind} {facts.path if facts.kind == 'pageview' else facts.name}".strip()


def _hit(item: dict[str, Any]) -> HitRecord:
    kind = item["kind"]["S"]
    skus = tuple(s for s in item.get("skus", {}).get("S", "").split(",") if s)
    points = float(item.get("points", {}).get("S", "0") or 0) if kind == "points" else 0.0
    facts = HitFacts(
        kind, item.get("path", {}).get("S", ""), item.get("name", {}).get("S", ""), False, skus, points
    )
    return HitRecord(item["sk"]["S"], datetime.fromisoformat(item["at"]["S"]), facts)


def _only_ours(old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    """True when a change touched nothing but what scoring and evaluation write."""
    if old is None:
        return False
    names = set(old) | set(new)
    return all(old.get(n) == new.get(n) for n in names if n not in DERIVED and n not in SCORING)
