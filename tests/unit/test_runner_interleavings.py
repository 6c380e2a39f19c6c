"""Ticks that overlap: whatever order their reads and writes interleave in, everyone ends where
one tick alone would leave them, every mail goes once, and every count and timeline entry is
exact.  The interleavings are chosen by hypothesis, one storage call at a time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.scenario_world import ONE_MAIL_A_DAY, ScenarioWorld


class Turns:
    """Lets one walker run at a time, from one storage call to its next, in the order drawn."""

    def __init__(self, order: list[int], walkers: int) -> None:
        self._order = order
        self._next = 0
        self._running = set(range(walkers))
        self._names: dict[int, int] = {}
        self._changed = threading.Condition()

    def join(self, walker: int) -> None:
        self._names[threading.get_ident()] = walker

    def wait(self) -> None:
        me = self._names.get(threading.get_ident())
        if me is None:
            return
        with self._changed:
            while True:
                running = sorted(self._running)
                drawn = self._order[self._next] if self._next < len(self._order) else 0
                if running[drawn % len(running)] == me:
                    self._next += 1
                    self._changed.notify_all()
                    return
                self._changed.wait(timeout=5)

    def leave(self) -> None:
        with self._changed:
            self._running.discard(self._names[threading.get_ident()])
            self._changed.notify_all()


class Interleaved:
    """A port whose every call first waits for the walker's turn."""

    def __init__(self, port: Any, turns: Turns) -> None:
        self._port = port
        self._turns = turns
        self.shards = getattr(port, "shards", 1)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._port, name)
        if not callable(method):
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            self._turns.wait()
            return method(*args, **kwargs)

        return call


def walk_together(world: ScenarioWorld, walkers: int, order: list[int]) -> None:
    """`walkers` ticks read the same due people, then walk them, interleaved as `order` says."""
    turns = Turns(order, walkers)
    runners = [
        world.runner(Interleaved(world.journeys, turns), Interleaved(world.people, turns))
        for _ in range(walkers)
    ]
    due = [world.due() for _ in range(walkers)]
    errors: list[BaseException] = []

    def walk(n: int) -> Callable[[], None]:
        def run() -> None:
            turns.join(n)
            try:
                runners[n].walk_many(due[n])
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)
            finally:
                turns.leave()

        return run

    threads = [threading.Thread(target=walk(n)) for n in range(walkers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors


def world_with(people: int, scenarios: str = ONE_MAIL_A_DAY, hours_on: float = 0) -> ScenarioWorld:
    world = ScenarioWorld(scenarios)
    world.clock.travel(hours_on * 3600)
    for n in range(people):
        world.entered(world.subscriber(n))
    return world


def one_tick_alone(people: int) -> dict[str, object]:
    world = world_with(people)
    world.runner().walk_many(world.due())
    return world.picture()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=st.lists(st.integers(min_value=0, max_value=7), min_size=0, max_size=120))
def test_two_ticks_in_any_interleaving_leave_everyone_where_one_tick_would(order: list[int]) -> None:
    # GIVEN three people due at the welcome mail, under a cap of one mail a day
    world = world_with(3)
    # WHEN two ticks walk them at once, their storage calls interleaved as drawn
    walk_together(world, 2, order)
    # THEN places, report, timelines, mail and ledger are exactly what one tick makes
    assert world.picture() == one_tick_alone(3)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=st.lists(st.integers(min_value=0, max_value=7), min_size=0, max_size=200))
def test_eight_ticks_in_any_interleaving_send_each_mail_once_and_count_it_once(order: list[int]) -> None:
    world = world_with(2)
    walk_together(world, 8, order)
    picture = world.picture()
    assert picture == one_tick_alone(2)
    assert picture["mail"] == ["p0@example.com", "p1@example.com"]


def test_one_tick_alone_mails_each_person_once_and_walks_them_to_the_end() -> None:
    """The reference the interleavings are held to, checked on its own."""
    picture = one_tick_alone(2)
    assert picture["mail"] == ["p0@example.com", "p1@example.com"]
    statuses = {key: place[0] for key, place in picture["places"].items()}  # type: ignore[attr-defined]
    assert set(statuses.values()) == {"exited"}
    counts = picture["counts"]
    assert sum(n for (s, d, step, f), n in counts.items() if (step, f) == ("-", "exit")) == 2  # type: ignore[attr-defined]
    assert sum(n for (s, d, step, f), n in counts.items() if (step, f) == ("hello", "sent")) == 2  # type: ignore[attr-defined]
    kinds = sorted(kind for kind, _, _ in picture["timelines"]["c000"])  # type: ignore[index]
    assert kinds == ["mail_sent", "scenario_exit", "scenario_update"]


class HeldSave:
    """The journeys store, but a save waits until the test lets it go."""

    def __init__(self, journeys: Any) -> None:
        self._journeys = journeys
        self.shards = journeys.shards
        self.reached = threading.Event()
        self.go = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._journeys, name)

    def save(self, place: Any) -> None:
        self.reached.set()
        assert self.go.wait(timeout=10)
        self._journeys.save(place)


def test_a_tick_that_mailed_is_not_rolled_back_by_one_that_read_the_place_before_it_saved() -> None:
    """The old failure, made certain: tick A mails and is about to save; tick B, which read the
    place before, sees the cap full -- with A's own mail -- and must not hold the person back."""
    world = world_with(1)
    held = HeldSave(world.journeys)
    a = threading.Thread(target=world.runner(held).walk_many, args=(world.due(),))
    a.start()
    assert held.reached.wait(timeout=10)  # A has sent the mail and taken the cap's place
    world.runner().walk_many(world.due())  # B walks the same person and saves first
    held.go.set()
    a.join(timeout=10)
    assert world.picture() == one_tick_alone(1)


QUIET_NIGHTS = """
timezone: Asia/Tokyo
frequency_cap: {mails: 1, hours: 24}
scenarios:
  - name: welcome
    entry: {segment: first_time_buyers}
    send_window: {from: "08:00", to: "21:00"}
    steps:
      - {id: hello, send: thank_you}
      - {id: bye, exit: true}
"""


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    night=st.lists(st.integers(min_value=0, max_value=7), max_size=60),
    morning=st.lists(st.integers(min_value=0, max_value=7), max_size=120),
)
def test_mail_held_for_the_night_is_noted_once_and_sent_once_whatever_the_interleaving(
    night: list[int], morning: list[int]
) -> None:
    # GIVEN two people due at 22:50 in Tokyo, outside the welcome mail's window
    world, alone = world_with(2, QUIET_NIGHTS, 12 + 50 / 60), world_with(2, QUIET_NIGHTS, 12 + 50 / 60)
    written = timeline_writes(world)
    # WHEN two ticks walk them at once at night, then two more at 08:00
    walk_together(world, 2, night)
    alone.runner().walk_many(alone.due())
    # THEN the night leaves what one tick leaves: one mail_held each, no mail
    assert world.picture() == alone.picture()
    assert written == ["mail_held", "mail_held"]
    for one in (world, alone):
        one.clock.travel(9 * 3600 + 10 * 60)  # 08:00
    walk_together(world, 2, morning)
    alone.runner().walk_many(alone.due())
    # and the morning too: each mailed once, the hold noted once and never again
    picture = world.picture()
    assert picture == alone.picture()
    assert picture["mail"] == ["p0@example.com", "p1@example.com"]
    assert sorted(written) == ["mail_held"] * 2 + ["mail_sent"] * 2 + ["scenario_exit"] * 2


def timeline_writes(world: ScenarioWorld) -> list[str]:
    """Every timeline entry written, by kind (two writes of one entry at one instant would
    otherwise fall on one key and look like one)."""
    written: list[str] = []
    write = world.people.add_to_timelines

    def counting(entries: list[tuple[str, dict[str, str]]]) -> None:
        written.extend(entry["kind"] for _, entry in entries)
        write(entries)

    world.people.add_to_timelines = counting  # type: ignore[method-assign]
    return written
