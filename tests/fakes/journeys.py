"""The journeys table in memory (JourneyRepository): places with revisions, the action ledger,
the frequency cap, tasks and report counters -- conditional where DynamoDB's writes are."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable
from typing import Any

from chalicelib.domain.channels import RECEIPTS
from chalicelib.domain.errors import StaleJourneyError
from chalicelib.domain.journeys import Place, Task
from chalicelib.domain.mail.cap import with_mail, without_mail


def _ledger_key(key: str) -> str:
    return key.split("#", 1)[1]


class MemoryJourneys:
    shards = 1

    def __init__(self) -> None:
        self.places: dict[tuple[str, str], Place] = {}
        self.ledger: dict[tuple[str, str], dict[str, str]] = {}
        self.sent_times: dict[str, list[float]] = {}
        self.tasks: dict[tuple[str, str], Task] = {}
        self.counts: dict[tuple[str, str, str, str], int] = {}
        self.ses: dict[str, tuple[str, str]] = {}
        self.messages: dict[tuple[str, str], tuple[str, str]] = {}  # (channel, its message id) -> send
        self._lock = threading.Lock()  # each call is atomic, as one DynamoDB request is

    # --- places ----------------------------------------------------------------------------------
    def places_of(self, contact_id: str) -> list[Place]:
        with self._lock:
            return [copy.deepcopy(p) for (c, _), p in sorted(self.places.items()) if c == contact_id]

    def places_in(self, contact_ids: Iterable[str], scenarios: Iterable[str]) -> dict[str, list[Place]]:
        wanted = set(scenarios)
        found: dict[str, list[Place]] = {}
        for contact_id in set(contact_ids):
            kept = [p for p in self.places_of(contact_id) if p.journey.scenario in wanted]
            if kept:
                found[contact_id] = kept
        return found

    def due(self, shard: int, now: float, limit: int) -> list[Place | Task]:
        with self._lock:
            places = [p for p in self.places.values() if p.running and p.journey.due_at.timestamp() <= now]
            tasks = [t for t in self.tasks.values() if t.due_at <= now]
            due: list[Place | Task] = [copy.deepcopy(p) for p in places] + list(tasks)
        return due[:limit]

    def save(self, place: Place) -> None:
        key = (place.journey.contact_id, place.journey.scenario)
        with self._lock:
            stored = self.places.get(key)
            if (stored.rev if stored else 0) != place.rev:
                raise StaleJourneyError(f"{key}")
            place.rev += 1
            self.places[key] = copy.deepcopy(place)

    # --- the ledger ----------------------------------------------------------------------------
    def claim(self, contact_id: str, key: str, fields: dict[str, str]) -> bool:
        with self._lock:
            if (contact_id, _ledger_key(key)) in self.ledger:
                return False
            self.ledger[(contact_id, _ledger_key(key))] = dict(fields)
            return True

    def release(self, contact_id: str, key: str) -> None:
        with self._lock:
            self.ledger.pop((contact_id, _ledger_key(key)), None)

    def action(self, contact_id: str, key: str) -> dict[str, str] | None:
        with self._lock:
            found = self.ledger.get((contact_id, _ledger_key(key)))
            return dict(found) if found is not None else None

    def note(self, contact_id: str, key: str, fields: dict[str, str]) -> None:
        with self._lock:
            entry = self.ledger.setdefault((contact_id, _ledger_key(key)), {})
            entry.update(fields)
            if "message_id" in fields and entry.get("channel") in RECEIPTS:  # as the store maps a text's id
                self.messages[(entry["channel"], fields["message_id"])] = (contact_id, key)

    def first_time(self, contact_id: str, key: str, flag: str, at: str) -> bool:
        with self._lock:
            entry = self.ledger.get((contact_id, _ledger_key(key)))
            if entry is None or flag in entry:
                return False
            entry[flag] = at
            return True

    def count_once(
        self, contact_id: str, key: str, flag: str, at: str, counts: dict[tuple[str, str, str, str], int]
    ) -> bool:
        with self._lock:
            entry = self.ledger.get((contact_id, _ledger_key(key)))
            if entry is None or flag in entry:
                return False
            entry[flag] = at
            for counted, n in counts.items():
                self.counts[counted] = self.counts.get(counted, 0) + n
            return True

    def record_sent(self, contact_id: str, key: str, fields: dict[str, str], ses_id: str) -> None:
        self.note(contact_id, key, fields)
        self.ses[ses_id] = (contact_id, key)

    def by_ses(self, ses_id: str) -> tuple[str, str] | None:
        return self.ses.get(ses_id)

    def by_message(self, channel: str, message_id: str) -> tuple[str, str] | None:
        return self.messages.get((channel, message_id))

    # --- the cap -------------------------------------------------------------------------------
    def mail_times(self, contact_id: str) -> list[float]:
        with self._lock:
            return list(self.sent_times.get(contact_id, []))

    def reserve_mail_time(self, contact_id: str, at: float, cap: tuple[int, int] | None) -> bool:
        with self._lock:
            changed = with_mail(cap, self.sent_times.get(contact_id, []), at)
            if changed is None:
                return False
            self.sent_times[contact_id] = changed
            return True

    def free_mail_time(self, contact_id: str, at: float) -> None:
        with self._lock:
            self.sent_times[contact_id] = without_mail(self.sent_times.get(contact_id, []), at)

    def forget(self, contact_id: str) -> int:
        with self._lock:
            deleted = int(self.sent_times.pop(contact_id, None) is not None)
            for kept in (self.places, self.ledger, self.tasks):
                for key in [k for k in kept if k[0] == contact_id]:
                    del kept[key]  # type: ignore[attr-defined]
                    deleted += 1
            return deleted

    # --- tasks and counters ----------------------------------------------------------------------
    def schedule(self, contact_id: str, name: str, due_at: float, data: dict[str, Any]) -> None:
        with self._lock:
            self.tasks[(contact_id, name)] = Task(contact_id, name, due_at, copy.deepcopy(data))

    def finish_task(self, task: Task) -> bool:
        with self._lock:
            held = self.tasks.get((task.contact_id, task.name))
            if held is None or held.due_at != task.due_at:
                return False
            del self.tasks[(task.contact_id, task.name)]
            return True

    def count(self, counts: dict[tuple[str, str, str, str], int]) -> None:
        with self._lock:
            for key, n in counts.items():
                self.counts[key] = self.counts.get(key, 0) + n

    def counters(self, scenario: str) -> Iterable[tuple[str, str, str, int]]:
        with self._lock:
            return [(d, s, f, n) for (sc, d, s, f), n in sorted(self.counts.items()) if sc == scenario]

    def total(self, scenario: str, step: str, figure: str) -> int:
        """A report figure summed over days (what a test checks)."""
        return sum(n for d, s, f, n in self.counters(scenario) if (s, f) == (step, figure))
