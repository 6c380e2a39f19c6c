"""Keeping scores and segments current over in-memory ports: every hit scored once, every
segment change recorded once, and one bad record never holding up everyone else's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.contact import Contact
from chalicelib.domain.definitions.compile import KINDS
from chalicelib.domain.errors import TransientError
from chalicelib.domain.timeline import Recorded
from chalicelib.services.batches import Isolation
from chalicelib.services.definitions import DefinitionsService
from chalicelib.services.evaluation import Evaluator
from chalicelib.services.sales_alerts import SalesAlerts
from tests.fakes import (
    FakeClock,
    MemoryDefinitionVersions,
    MemoryFiles,
    MemoryParking,
    MemoryPeople,
    MemorySegments,
    RecordingAlerts,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config"
EVALUATED = ("catalogue", "scoring", "segments")  # the kinds that decide scores and segments


class FlakyPeople(MemoryPeople):
    """The contacts table, throttled (a passing fault) when saving these people's scores."""

    def __init__(self) -> None:
        super().__init__()
        self.throttled: set[str] = set()

    def save_scores(self, contact: Contact) -> None:
        if contact["email"] in self.throttled:
            raise TransientError("ProvisionedThroughputExceededException")
        super().save_scores(contact)


class FlakySegments(MemorySegments):
    """Segment membership, throttled when someone leaves while `throttled` says so."""

    throttled = False

    def leave(self, segment: str, contact_id: str) -> bool:
        if self.throttled:
            raise TransientError("ThrottlingException")
        return super().leave(segment, contact_id)


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.people = FlakyPeople()
        self.segments = FlakySegments(self.people)
        self.parking = MemoryParking()
        self.alerts = RecordingAlerts()
        self.definitions = DefinitionsService(MemoryDefinitionVersions(), MemoryFiles(), self.clock)
        for kind in EVALUATED:
            self.definitions.submit(kind, (EXAMPLES / f"{kind}.yaml").read_bytes(), "test")
        self.evaluator = Evaluator(
            self.people,
            self.segments,
            self.definitions,
            SalesAlerts(self.alerts),
            self.clock,
            Isolation(self.parking, transient=lambda e: isinstance(e, TransientError)),
        )
        self._n = 0
        for name in ("aiko", "ben", "chika"):
            self.people.add(f"{name}@example.com", f"c-{name}", status="subscribed", company="Acme")

    def hit(self, contact_id: str, path: str) -> Recorded:
        """A page view written to the person's timeline, as the events stream then reports it."""
        self._n += 1
        at = datetime.fromtimestamp(self.clock(), UTC).isoformat(timespec="milliseconds")
        key = f"{at}#visitor-0001#{self._n:06d}"
        self.people.add_to_timeline(contact_id, [{"sk": key, "kind": "pageview", "at": at, "path": path}])
        self.clock.travel(1)
        return Recorded(contact_id, key, "pageview", at, path=path)

    def contact(self, name: str) -> dict[str, Any]:
        found = self.people.by_email(f"{name}@example.com")
        assert found is not None
        return found

    def interest(self, name: str) -> float:
        return round(float(self.contact(name).get("scores", {}).get("interest", {}).get("v", 0)), 1)

    def score_entries(self, contact_id: str) -> list[tuple[str, str, str]]:
        return [(e["name"], e["rule"], e["points"]) for e in self.people.entries(contact_id, "score")]

    def entered(self, contact_id: str) -> list[str]:
        return sorted(e["name"] for e in self.people.entries(contact_id, "segment_enter"))


def test_the_examples_define_every_kind_evaluation_needs():
    assert set(EVALUATED) <= set(KINDS)
    definitions = World().definitions.in_force().definitions
    assert "interest" in definitions.scores and "mailable" in [s.name for s in definitions.segments]


def test_hits_from_the_events_stream_are_scored_once_even_when_the_batch_comes_again():
    world = World()
    batch = [world.hit("c-aiko", "/pricing"), world.hit("c-aiko", "/pricing"), world.hit("c-aiko", "/about")]
    world.evaluator.on_events(batch)
    scored = world.contact("aiko")
    entries = world.score_entries("c-aiko")

    world.clock.travel(60)
    world.evaluator.on_events(batch)  # the stream delivers the same records again

    assert world.interest("aiko") == 30.0
    assert entries == [("interest", "pricing page", "15"), ("interest", "pricing page", "15")]
    assert world.score_entries("c-aiko") == entries, "no second explanation"
    assert world.contact("aiko")["scores"] == scored["scores"]
    assert world.contact("aiko")["scored_version"] == 1, "the redelivery wrote no scores"
    assert world.parking.parked == []


def test_bot_hits_are_never_scored():
    world = World()
    hit = world.hit("c-aiko", "/pricing")
    world.evaluator.on_events([Recorded(hit.contact_id, hit.key, hit.kind, hit.at, hit.path, bot=True)])
    assert world.interest("aiko") == 0 and world.score_entries("c-aiko") == []


def test_entering_a_segment_is_one_timeline_entry_when_two_evaluations_see_the_same_change():
    world = World()
    first, second = world.contact("aiko"), world.contact("aiko")  # read by two evaluations at once
    world.evaluator.evaluate(first)
    world.clock.travel(1)  # the second one writes a moment later
    world.evaluator.evaluate(second)

    assert world.entered("c-aiko") == ["mailable", "prospects"]
    assert sorted(world.contact("aiko")["segments"]) == ["mailable", "prospects"]
    assert world.segments.sizes(["mailable", "prospects"]) == {"mailable": 1, "prospects": 1}


def test_a_change_reported_twice_by_the_contacts_stream_enters_the_segment_once():
    world = World()
    world.evaluator.on_contacts([], ["aiko@example.com"])
    world.clock.travel(1)
    world.evaluator.on_contacts([], ["aiko@example.com"])
    assert world.entered("c-aiko") == ["mailable", "prospects"]


def test_leaving_a_segment_is_recorded_and_an_erased_person_leaves_every_segment():
    world = World()
    world.evaluator.on_contacts([], ["aiko@example.com", "ben@example.com"])
    world.clock.travel(1)
    world.people.block("aiko@example.com", "unsubscribed", "link", "2026-11-23T01:00:01+00:00")
    world.evaluator.on_contacts([], ["aiko@example.com"])
    assert [e["name"] for e in world.people.entries("c-aiko", "segment_leave")] == ["mailable"]

    ben = world.contact("ben")
    world.people.delete("ben@example.com")
    world.evaluator.on_contacts([ben], [])
    assert world.segments.sizes(["mailable", "prospects"]) == {"mailable": 0, "prospects": 1}


def test_a_poison_entry_is_parked_with_its_reason_and_its_healthy_neighbour_is_scored():
    world = World()
    poison = Recorded("c-aiko", "not a time#visitor-0001#000001", "pageview", "not a time", path="/pricing")
    healthy = world.hit("c-ben", "/pricing")

    world.evaluator.on_events([poison, healthy])  # nothing raised: the batch is not retried for ever

    ((handler, payload, reason),) = world.parking.parked
    assert handler == "events_changed"
    assert payload == {"contact_id": "c-aiko", "entries": ["not a time#visitor-0001#000001"]}
    assert reason.startswith("ValueError(") and "not a time" in reason
    assert world.interest("ben") == 15.0 and world.entered("c-ben") == ["mailable", "prospects"]
    assert "scores" not in world.contact("aiko")


def test_a_passing_fault_is_raised_after_everyone_else_is_done_and_the_retry_finishes_the_job():
    world = World()
    world.people.throttled.add("aiko@example.com")
    batch = [
        world.hit("c-aiko", "/pricing"),
        world.hit("c-ben", "/pricing"),
        world.hit("c-chika", "/pricing"),
    ]

    with pytest.raises(TransientError):
        world.evaluator.on_events(batch)

    assert (world.interest("ben"), world.interest("chika")) == (15.0, 15.0), "the others went through"
    assert world.interest("aiko") == 0
    assert world.parking.parked == [], "a passing fault is retried, not parked"

    world.people.throttled.clear()
    world.clock.travel(60)
    world.evaluator.on_events(batch)  # Lambda delivers the whole batch again
    assert (world.interest("aiko"), world.interest("ben"), world.interest("chika")) == (15.0, 15.0, 15.0)
    assert world.score_entries("c-aiko") == [("interest", "pricing page", "15")], "rewritten, not doubled"
    assert [world.contact(n)["scored_version"] for n in ("aiko", "ben", "chika")] == [1, 1, 1]


def test_a_contact_who_turns_hot_is_announced_to_sales_once_even_when_the_entry_comes_again():
    world = World()
    world.evaluator.on_events([world.hit("c-aiko", "/pricing") for _ in range(4)])
    (hot,) = world.people.entries("c-aiko", "hot")
    recorded = Recorded(
        "c-aiko", hot["sk"], "hot", hot["at"], name=hot["name"], score=hot["score"], because=hot["because"]
    )
    assert world.entered("c-aiko") == [
        "hot_and_mailable",
        "hot_leads",
        "mailable",
        "pricing_researchers",
        "prospects",
    ]

    world.evaluator.on_events([recorded])
    world.evaluator.on_events([recorded])

    ((to, subject, text),) = world.alerts.mails
    assert to == ["sales@example.com"] and subject == "Hot lead: aiko@example.com (interest 60.00)"
    assert "/pricing" in text
    assert [s["contact_id"] for s in world.alerts.published] == ["c-aiko"]


def hot_of(world: World, contact_id: str) -> Recorded:
    """The hot entry scoring wrote, as the events stream reports it."""
    (hot,) = world.people.entries(contact_id, "hot")
    return Recorded(
        contact_id, hot["sk"], "hot", hot["at"], name=hot["name"], score=hot["score"], because=hot["because"]
    )


def test_a_passing_fault_in_one_persons_hits_holds_back_no_one_elses_sales_alert():
    """BUG: on_events isolates the hits and the hot entries in two separate passes; a passing
    fault in the first pass is raised before the second runs, so the other person's alert waits
    for (and depends on) the retry instead of going out with the rest of the batch."""
    world = World()
    world.evaluator.on_events([world.hit("c-aiko", "/pricing") for _ in range(4)])
    world.people.throttled.add("ben@example.com")

    with pytest.raises(TransientError):
        world.evaluator.on_events([world.hit("c-ben", "/pricing"), hot_of(world, "c-aiko")])

    assert [to for to, _, _ in world.alerts.mails] == [["sales@example.com"]], "Aiko's alert went out"


def test_a_passing_fault_while_an_erased_person_leaves_holds_back_no_one_elses_evaluation():
    """BUG: on_contacts forgets the removed people in one isolated pass and raises its passing
    fault before the changed people of the same batch are evaluated at all."""
    world = World()
    world.evaluator.on_contacts([], ["ben@example.com"])
    ben = world.contact("ben")
    world.people.delete("ben@example.com")
    world.segments.throttled = True

    with pytest.raises(TransientError):
        world.evaluator.on_contacts([ben], ["aiko@example.com"])

    assert world.entered("c-aiko") == ["mailable", "prospects"], "Aiko was evaluated with the batch"


def test_a_segment_entry_the_store_could_not_write_is_not_claimed_and_the_retry_makes_it():
    world = World()
    world.segments.busy = {"prospects"}  # its size item contended past the store's retries

    with pytest.raises(TransientError):
        world.evaluator.on_contacts([], ["aiko@example.com", "ben@example.com"])

    assert world.contact("aiko")["segments"] == ["mailable"], "no claim the members list lacks"
    assert world.segments.sizes(["mailable", "prospects"]) == {"mailable": 2, "prospects": 0}
    assert world.parking.parked == [], "a passing fault is retried, not parked"

    world.segments.busy.clear()
    world.clock.travel(60)
    world.evaluator.on_contacts([], ["aiko@example.com", "ben@example.com"])  # Lambda's retry
    assert world.entered("c-aiko") == ["mailable", "prospects"]
    assert sorted(world.contact("aiko")["segments"]) == ["mailable", "prospects"]
    assert world.segments.sizes(["mailable", "prospects"]) == {"mailable": 2, "prospects": 2}
