"""The journey map's numbers: who is waiting at each step now (a gauge kept as people move, never
a scan of the places), and where each step leads (GIVEN / WHEN / THEN)."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.tally import Counts
from chalicelib.services.scenario_reports import ScenarioReports
from tests.unit.scenario_world import ScenarioWorld

WITH_A_WAIT = """
timezone: UTC
scenarios:
  - name: welcome
    entry: {segment: first_time_buyers}
    steps:
      - {id: hello, send: thank_you}
      - {id: pause, wait: {days: 1}}
      - id: ab
        split: {a: 50, b: 50}
      - {id: a, update: {attrs: {path: a}}, next: bye}
      - {id: b, update: {attrs: {path: b}}, next: bye}
      - {id: bye, exit: true}
"""


def waiting(world: ScenarioWorld) -> dict[str, int]:
    report = ScenarioReports(world.definitions, world.journeys).report("welcome")
    return {s["step"]: s["waiting"] for s in report["steps"] if s.get("waiting")}


def enter(world: ScenarioWorld, people: int) -> None:
    runner = world.runner()
    scenario = world.definitions.in_force().definitions.journeys.scenarios["welcome"]
    version = world.definitions.in_force().definitions.journeys.version
    counts = Counts()
    for n in range(people):
        contact_id = world.subscriber(n)
        contact = {"contact_id": contact_id, "email": f"p{n}@example.com"}
        assert runner.enter(scenario, contact, None, runner.now(), version, counts)
    runner.write(counts)


def test_people_are_counted_where_they_wait_as_they_move_and_leave() -> None:
    world = ScenarioWorld(WITH_A_WAIT)

    enter(world, 4)
    assert waiting(world) == {"hello": 4}

    world.runner().tick()
    assert waiting(world) == {"pause": 4}, "mailed, and waiting a day"

    world.clock.travel(2 * 86400)
    world.runner().tick()
    assert waiting(world) == {}, "through the split and out"

    report = ScenarioReports(world.definitions, world.journeys).report("welcome")
    steps: dict[str, Any] = {s["step"]: s for s in report["steps"]}
    assert steps["hello"]["sent"] == 4 and steps["hello"]["waiting"] == 0
    assert sum(b["entered"] for b in report["branches"]) == 4
    assert [d["day"] for d in report["days"]] == ["2026-11-23", "2026-11-25"], "the gauge is not a day"
    listed = ScenarioReports(world.definitions, world.journeys).scenarios()["scenarios"][0]
    assert listed["totals"]["waiting"] == 0 and listed["totals"]["entered"] == 4


def test_a_repeated_walk_moves_nobody_twice() -> None:
    world = ScenarioWorld(WITH_A_WAIT)
    enter(world, 2)
    stale = world.runner()
    places = world.due()

    world.runner().walk_many(places)
    stale.walk_many(places)  # the same places again, as read before the first walk saved them

    assert waiting(world) == {"pause": 2}


def test_a_person_erased_on_the_way_leaves_the_count() -> None:
    world = ScenarioWorld(WITH_A_WAIT)
    enter(world, 3)
    world.runner().tick()
    del world.people.contacts["p1@example.com"]  # erased

    world.clock.travel(2 * 86400)
    world.runner().tick()

    assert waiting(world) == {}
    places = {p.journey.contact_id: p.status for p in world.journeys.places.values()}
    assert places["c001"] == "left"


def test_each_step_says_where_it_leads() -> None:
    world = ScenarioWorld(WITH_A_WAIT)

    report = ScenarioReports(world.definitions, world.journeys).report("welcome")

    ways = {s["step"]: (s.get("next"), s.get("ways")) for s in report["steps"]}
    steps = {s["step"]: s for s in report["steps"]}
    assert ways["hello"] == ("pause", None) and steps["pause"]["spec"] == "days: 1"
    assert ways["ab"] == (None, {"a 50%": "a", "b 50%": "b"})
    assert ways["a"] == ("bye", None) and ways["bye"] == (None, None)
