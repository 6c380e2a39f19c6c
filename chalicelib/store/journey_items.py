"""The journeys table's items as the store reads and writes them: a person's place, a task, and
the sort key of an action in the ledger (chalicelib/store/journeys.py holds the table's calls)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.journeys import Journey, Place, Task
from chalicelib.store.dynamo import shard_of

SHARDS = 16


def due_shard(contact_id: str) -> str:
    return shard_of(contact_id, SHARDS)


def action_sort_key(key: str) -> str:
    """The ledger's sort key for an action key `contact#scenario#step#entry` (contact is the pk)."""
    return key.split("#", 1)[1]


def _epoch(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment else None


def place_item(place: Place) -> dict[str, Any]:
    journey = place.journey
    state = {
        "step": journey.step,
        "entry": journey.entry,
        "waiting_since": _epoch(journey.waiting_since),
        "waiting_for": journey.waiting_for,
        "branches": journey.branches,
        "entered_at": place.entered_at,
        "ended_at": place.ended_at,
        **place.extra,
    }
    item: dict[str, Any] = {
        "pk": {"S": f"c#{journey.contact_id}"},
        "sk": {"S": f"j#{journey.scenario}"},
        "email": {"S": place.email},
        "status": {"S": place.status},
        "version": {"N": str(place.version)},
        "state": {"S": json.dumps(state, ensure_ascii=False)},
    }
    if place.running:  # only running journeys are in the due index
        item["due_shard"] = {"S": due_shard(journey.contact_id)}
        item["due_at"] = {"N": f"{journey.due_at.timestamp():.3f}"}
    return item


def place_of(item: dict[str, Any]) -> Place:
    state = json.loads(item["state"]["S"])
    due = float(item["due_at"]["N"]) if "due_at" in item else state.get("ended_at") or 0.0
    waiting = state.pop("waiting_since", None)
    journey = Journey(
        scenario=item["sk"]["S"][2:],
        contact_id=item["pk"]["S"][2:],
        entry=int(state.pop("entry")),
        step=state.pop("step"),
        due_at=datetime.fromtimestamp(due, UTC),
        waiting_since=datetime.fromtimestamp(waiting, UTC) if waiting else None,
        waiting_for=state.pop("waiting_for", None),
        branches=state.pop("branches", {}) or {},
    )
    return Place(
        journey,
        item["email"]["S"],
        int(item["version"]["N"]),
        item["status"]["S"],
        int(item.get("rev", {}).get("N", "0")),
        float(state.pop("entered_at", 0.0) or 0.0),
        state.pop("ended_at", None),
        state,
    )


def task_of(item: dict[str, Any]) -> Task:
    return Task(
        item["pk"]["S"][2:], item["sk"]["S"][2:], float(item["due_at"]["N"]), json.loads(item["data"]["S"])
    )
