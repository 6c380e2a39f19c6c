"""The journey map's numbers: who is waiting at each step now (a gauge kept as people move, never
a scan of the places), where each step leads, and each step's figures per channel it sent on
(GIVEN / WHEN / THEN)."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.sms_receipts import sms_receipt
from chalicelib.domain.tally import Counts
from chalicelib.services.scenario_reports import ScenarioReports
from tests.unit.scenario_world import ScenarioWorld
from tests.unit.test_sms_receipts import sms_event

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
    assert steps["bye"]["spec"] == "", "an exit's box says only that it is one (not 'True')"
    assert steps["a"]["spec"] == "attrs: {path: a}", "as the definition reads, not as Python prints it"


ON_ANY_CHANNEL = """
timezone: Asia/Tokyo
scenarios:
  - name: welcome
    entry: {segment: first_time_buyers}
    steps:
      - id: hello
        send: thank_you
        channels: [line, sms, email]
        line: {text: "新茶が入りました https://shop.example.jp/new"}
        sms: "新茶が入りました"
      - {id: pause, wait: {days: 1}}
      - {id: bye, exit: true}
"""
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def test_each_step_shows_the_figures_of_the_channels_it_used_and_line_delivery_is_unknown() -> None:
    # GIVEN a step sending on LINE, SMS or email, and one person on LINE, one on SMS (nobody by mail)
    world = ScenarioWorld(ON_ANY_CHANNEL)
    line = {"line_user_id": "U" + "a" * 32, "line_permission": "granted"}
    world.people.add("p0@example.com", "c000", status="subscribed", **line)
    world.people.add(
        "p1@example.com",
        "c001",
        status="subscribed",
        phone="080-1111-2222",
        sms_permission="granted",
    )
    for who in ("c000", "c001"):
        world.entered(who, first_step="hello")
    world.runner().tick()

    # WHEN the LINE message's link is clicked and End User Messaging SMS says the text was delivered
    world.clock.travel(60)
    ((_, message),) = world.line.delivered
    world.mail_events().clicked(message["text"].rsplit("/c/", 1)[1], CHROME, "GET")
    text_id = world.journeys.action("c001", "c001#welcome#hello#1")["message_id"]
    assert world.sms_receipts().receive(sms_receipt(sms_event(text_id)))

    # THEN the step's figures are per channel, for the channels it used, LINE's delivery unknown
    report = ScenarioReports(world.definitions, world.journeys).report("welcome")
    steps = {s["step"]: s for s in report["steps"]}
    assert steps["hello"]["by_channel"] == {
        "line": {"sent": 1, "delivered": None, "failed": 0, "clicked": 1, "click_rate": 1.0},
        "sms": {
            "sent": 1,
            "delivered": 1,
            "failed": 0,
            "clicked": 0,
            "delivery_rate": 1.0,
            "click_rate": 0.0,
        },
    }
    assert "by_channel" not in steps["pause"], "a wait sends nothing"
    assert report["channels"]["email"]["sent"] == 0 and report["channels"]["line"]["delivered"] is None
    assert report["receipts"]["line"].startswith("none")
