"""A mail that does not go says why: a `mail_held` entry on the person's timeline (the reason,
and when it is tried again or that it never will be), written once per hold however often the
tick runs, and counted by reason in the tick's answer."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.holds import Hold, deferral
from chalicelib.domain.scenarios import Window
from tests.unit.scenario_world import ScenarioWorld

MINUTE = 60
HOUR = 3600
DAY = 24 * HOUR

# The README's story: thanks at once, the tips three days later, mail only 08:00-21:00 in Tokyo.
WINDOWED = """
timezone: Asia/Tokyo
scenarios:
  - name: welcome
    entry: {segment: first_time_buyers}
    send_window: {from: "08:00", to: "21:00"}
    steps:
      - {id: hello, send: thank_you}
      - {id: three_days, wait: {days: 3}}
      - {id: tips, send: tips}
"""

TWO_SCENARIOS_ONE_MAIL_A_DAY = """
timezone: UTC
frequency_cap: {mails: 1, hours: 24}
scenarios:
  - name: welcome
    entry: {segment: first_time_buyers}
    steps:
      - {id: hello, send: thank_you}
  - name: teach
    entry: {segment: first_time_buyers}
    steps:
      - {id: lesson, send: tips}
"""

TWO_MAILS_IN_A_ROW_ONE_A_DAY = """
timezone: UTC
frequency_cap: {mails: 1, hours: 24}
scenarios:
  - name: welcome
    entry: {segment: first_time_buyers}
    steps:
      - {id: hello, send: thank_you}
      - {id: lesson, send: tips}
"""

# The tips are about the `newsletter` topic; after them a day's wait, then out.
TEACH = """
timezone: UTC
scenarios:
  - name: teach
    entry: {segment: first_time_buyers}
    steps:
      - {id: lesson, send: tips}
      - {id: a_day, wait: {days: 1}}
      - {id: bye, exit: true}
"""


def tick(world: ScenarioWorld) -> dict[str, object]:
    return world.runner().tick()


def held(world: ScenarioWorld, contact_id: str) -> list[dict[str, str]]:
    return world.people.entries(contact_id, "mail_held")


def ticks_every(world: ScenarioWorld, seconds: int, until: datetime) -> list[dict[str, object]]:
    """Tick every `seconds` while the clock is before `until`; the answers."""
    answers = []
    while world.clock() + seconds < until.timestamp():
        world.clock.travel(seconds)
        answers.append(tick(world))
    return answers


NOTHING = {"walked": 0, "tasks": 0, "sent": 0, "held": {}}


# --- the send window -------------------------------------------------------------------------------
def test_a_mail_outside_the_send_window_is_held_once_until_the_window_opens_then_sent():
    world = ScenarioWorld(WINDOWED)
    aiko = world.subscriber(1)
    world.entered(aiko, first_step="hello")  # Monday 10:00 in Tokyo: the thanks go at once
    assert tick(world) == {"walked": 1, "tasks": 0, "sent": 1, "held": {}}

    # the README's clock example: three days on, at 22:50 in Tokyo, the tips are due
    world.clock.travel(3 * DAY + 12 * HOUR + 50 * MINUTE)
    assert tick(world) == {"walked": 1, "tasks": 0, "sent": 0, "held": {"send_window": 1}}
    (entry,) = held(world, aiko)
    assert entry["name"] == "welcome" and (entry["step"], entry["template"]) == ("tips", "tips")
    assert (entry["reason"], entry["then"]) == ("send_window", "retry")
    assert entry["retry_at"] == "2026-11-27T08:00:00+09:00"  # the window's opening, in Tokyo

    # a tick every minute through the night: nothing is due, nothing more is written
    night = ticks_every(world, MINUTE, datetime.fromisoformat(entry["retry_at"]))
    assert len(night) > 500 and all(answer == NOTHING for answer in night)
    assert len(held(world, aiko)) == 1 and len(world.transport.to()) == 1

    world.clock.travel(MINUTE)  # 08:00
    assert tick(world) == {"walked": 1, "tasks": 0, "sent": 1, "held": {}}
    assert world.transport.to() == ["p1@example.com", "p1@example.com"]
    assert len(held(world, aiko)) == 1


# --- the frequency cap -----------------------------------------------------------------------------
def test_a_mail_over_the_frequency_cap_is_held_once_until_a_place_frees_then_sent():
    world = ScenarioWorld(TWO_SCENARIOS_ONE_MAIL_A_DAY)
    aiko = world.subscriber(1)
    world.entered(aiko, "welcome", "hello")
    world.entered(aiko, "teach", "lesson")
    first_mail = world.clock()

    assert tick(world) == {"walked": 2, "tasks": 0, "sent": 1, "held": {"frequency_cap": 1}}
    (sent,) = world.people.entries(aiko, "mail_sent")
    (entry,) = held(world, aiko)
    assert entry["name"] != sent["name"], "the other scenario's mail waits"
    assert (entry["reason"], entry["then"]) == ("frequency_cap", "retry")
    retry_at = datetime.fromisoformat(entry["retry_at"])
    assert retry_at == datetime.fromtimestamp(first_mail + DAY + 1, UTC)  # a day after the first

    quiet = ticks_every(world, 10 * MINUTE, retry_at)
    assert quiet and all(answer == NOTHING for answer in quiet)
    world.clock.now = retry_at.timestamp()
    assert tick(world) == {"walked": 1, "tasks": 0, "sent": 1, "held": {}}
    assert len(world.transport.to()) == 2 and len(held(world, aiko)) == 1


def test_the_second_mail_of_one_walk_over_the_cap_is_held_once_by_the_walk_after():
    """The walk that sent the first mail finds the cap full at the second and is dropped
    unsaved (exactly once); the tick walks the person again, and that walk puts the second
    mail off and says so, once."""
    world = ScenarioWorld(TWO_MAILS_IN_A_ROW_ONE_A_DAY)
    aiko = world.subscriber(1)
    world.entered(aiko, "welcome", "hello")

    assert tick(world) == {"walked": 1, "tasks": 0, "sent": 1, "held": {"frequency_cap": 1}}
    (entry,) = held(world, aiko)
    assert (entry["step"], entry["reason"]) == ("lesson", "frequency_cap")

    quiet = ticks_every(world, 10 * MINUTE, datetime.fromisoformat(entry["retry_at"]))
    assert quiet and all(answer == NOTHING for answer in quiet)
    world.clock.now = datetime.fromisoformat(entry["retry_at"]).timestamp()
    assert tick(world)["sent"] == 1
    assert world.transport.to() == ["p1@example.com", "p1@example.com"]
    assert len(held(world, aiko)) == 1 and world.journeys.total("welcome", "lesson", "sent") == 1


# --- consent and the do-not-mail list: never by itself, the step is skipped --------------------------
@pytest.mark.parametrize(
    ("fields", "refusal"),
    [
        ({"status": "pending"}, "not_subscribed"),
        ({"paused_until": "2026-11-23T02:00:00+00:00"}, "paused"),  # an hour from now
        ({"topics_off": {"newsletter"}}, "topic_off"),
    ],
)
def test_a_mail_consent_refuses_is_held_for_good_and_the_person_walks_on(fields, refusal):
    world = ScenarioWorld(TEACH)
    aiko = world.subscriber(1)
    world.people.contacts["p1@example.com"].update(fields)
    world.entered(aiko, "teach", "lesson")

    assert tick(world) == {"walked": 1, "tasks": 0, "sent": 0, "held": {"consent": 1}}
    (entry,) = held(world, aiko)
    assert (entry["step"], entry["template"], entry["reason"]) == ("lesson", "tips", "consent")
    assert (entry["refusal"], entry["then"]) == (refusal, "skipped") and "retry_at" not in entry
    place = world.journeys.places[(aiko, "teach")]
    assert (place.status, place.journey.step) == ("active", "a_day"), "skipped: on to the wait"

    later = ticks_every(world, HOUR, datetime.fromtimestamp(world.clock() + 2 * DAY, UTC))
    assert [answer["walked"] for answer in later].count(1) == 1  # out after the day's wait
    assert all(answer["held"] == {} and answer["sent"] == 0 for answer in later)
    assert world.journeys.places[(aiko, "teach")].status == "exited"
    assert len(held(world, aiko)) == 1 and world.transport.to() == []  # not even after the pause


@pytest.mark.parametrize(
    "on_the_list",
    [
        lambda people: people.suppressed.update({"p1@example.com": "bounce"}),
        lambda people: people.contacts["p1@example.com"].update(status="suppressed"),
    ],
)
def test_a_mail_to_a_suppressed_address_is_held_for_good_and_the_person_walks_on(on_the_list):
    world = ScenarioWorld(TEACH)
    aiko = world.subscriber(1)
    on_the_list(world.people)
    world.entered(aiko, "teach", "lesson")

    assert tick(world) == {"walked": 1, "tasks": 0, "sent": 0, "held": {"suppressed": 1}}
    (entry,) = held(world, aiko)
    assert (entry["step"], entry["reason"], entry["then"]) == ("lesson", "suppressed", "skipped")
    assert "retry_at" not in entry and "refusal" not in entry
    world.clock.travel(DAY)
    assert tick(world) == {"walked": 1, "tasks": 0, "sent": 0, "held": {}}
    assert len(held(world, aiko)) == 1 and world.transport.to() == []


# --- the rule alone ---------------------------------------------------------------------------------
TOKYO_NIGHT = datetime(2026, 11, 26, 13, 50, tzinfo=UTC)  # 22:50 in Tokyo
WINDOW = Window(time(8), time(21))


def at(hours: float) -> float:
    return (TOKYO_NIGHT - timedelta(hours=24) + timedelta(hours=hours)).timestamp()


@pytest.mark.parametrize(
    ("mailed", "reason", "retry_at"),
    [
        ([], "send_window", datetime(2026, 11, 26, 23, 0, tzinfo=UTC)),  # 08:00 in Tokyo
        ([at(5)], "send_window", datetime(2026, 11, 26, 23, 0, tzinfo=UTC)),  # the cap frees first
        ([at(12)], "frequency_cap", datetime.fromtimestamp(at(12) + 24 * 3600 + 1, UTC)),  # later
    ],
)
def test_the_later_of_the_window_and_the_cap_names_the_hold(mailed, reason, retry_at):
    hold = deferral(TOKYO_NIGHT, WINDOW, ZoneInfo("Asia/Tokyo"), (1, 24), lambda: mailed, lambda: False)
    assert hold == Hold(reason, retry_at)


def test_a_full_cap_with_the_steps_own_mail_claimed_is_no_hold():
    hold = deferral(TOKYO_NIGHT, None, UTC, (1, 24), lambda: [at(20)], lambda: True)
    assert hold is None
