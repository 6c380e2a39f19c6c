"""Scenario definitions: checked once, every problem named by its place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.journeys import Journey, advance
from chalicelib.domain.scenarios import parse_scenario
from chalicelib.domain.segments.rules import RuleError

SEGMENTS = frozenset({"first_time_buyers", "repeat_buyers"})
TEMPLATES = frozenset({"thank_you", "tips", "upgrade_offer", "coupon"})
SCORES = frozenset({"interest"})

JOURNEY = {
    "name": "first_purchase",
    "entry": {"segment": "first_time_buyers"},
    "re_entry": {"after_days": 90},
    "goal": {"segment": "repeat_buyers"},
    "steps": [
        {"id": "thanks", "send": "thank_you"},
        {"id": "three_days", "wait": {"days": 3}},
        {"id": "tips", "send": "tips"},
        {"id": "week", "wait": {"days": 7}},
        {
            "id": "engaged",
            "branch": {"if": {"score": "interest", "gte": 30}, "then": "upgrade", "else": "coupon"},
        },
        {"id": "upgrade", "send": "upgrade_offer", "next": "done"},
        {"id": "coupon", "send": "coupon"},
        {"id": "done", "exit": True},
    ],
}


def parse(node):
    return parse_scenario(node, "scenarios[0]", SEGMENTS, TEMPLATES, SCORES)


def test_a_journey_with_waits_a_branch_and_a_goal():
    scenario = parse(JOURNEY)
    assert scenario.first == "thanks" and scenario.re_entry == 90
    assert scenario.steps["thanks"].next == "three_days"
    assert (
        scenario.steps["engaged"].branches == ("upgrade", "coupon") and scenario.steps["engaged"].next is None
    )
    assert scenario.steps["upgrade"].next == "done" and scenario.steps["done"].next is None
    assert "engaged" in scenario.conditions


def with_steps(*steps):
    return {**JOURNEY, "steps": list(steps)}


@pytest.mark.parametrize(
    ("node", "where", "words"),
    [
        (with_steps({"id": "a", "mail": "tips"}), "scenarios[0].steps[0]", "expected exactly one of send"),
        (with_steps({"id": "a", "send": "nope"}), "scenarios[0].steps[0].send", "no template named 'nope'"),
        (
            with_steps({"id": "a", "send": "tips", "next": "zzz"}),
            "scenarios[0].steps[0]",
            "'zzz', which is not a step",
        ),
        (
            with_steps({"id": "a", "send": "tips"}, {"id": "a", "exit": True}),
            "scenarios[0].steps[1].id",
            "appears twice",
        ),
        (
            with_steps({"id": "a", "send": "tips"}, {"id": "b", "send": "coupon", "next": "a"}),
            "scenarios[0].steps[0]",
            "a loop without a wait: a -> b -> a",
        ),
        (
            with_steps(
                {"id": "s", "split": {"a": 60, "b": 30}}, {"id": "a", "exit": True}, {"id": "b", "exit": True}
            ),
            "scenarios[0].steps[0].split",
            "adding up to 100",
        ),
        (
            {**JOURNEY, "entry": {"segment": "ghosts"}},
            "scenarios[0].entry.segment",
            "no segment named 'ghosts'",
        ),
        ({**JOURNEY, "re_entry": "sometimes"}, "scenarios[0].re_entry", "never, always"),
        (
            with_steps({"id": "w", "wait": {"fortnights": 1}}),
            "scenarios[0].steps[0].wait",
            "expected {days: N}",
        ),
    ],
)
def test_bad_scenarios_name_the_place(node, where, words):
    with pytest.raises(RuleError) as raised:
        parse(node)
    assert raised.value.where == where and words in raised.value.message


def test_a_loop_through_a_wait_is_allowed():
    scenario = parse(with_steps({"id": "a", "send": "tips"}, {"id": "w", "wait": {"days": 30}, "next": "a"}))
    assert scenario.steps["w"].next == "a"


@pytest.mark.parametrize(
    ("wait", "ok"),
    [
        ({"hours": 2}, True),
        ({"until_event": "purchase", "timeout_days": 7}, True),
        ({"until": {"weekday": "tue", "time": "10:00"}}, True),
        ({"until": {"time": "25:00"}}, False),
        ({"until": {"weekday": "someday", "time": "10:00"}}, False),
        ({"until_event": "purchase"}, False),
        ({"days": -1}, False),
    ],
)
def test_waits(wait, ok):
    node = with_steps({"id": "w", "wait": wait})
    if ok:
        assert parse(node).steps["w"].kind == "wait"
    else:
        with pytest.raises(RuleError):
            parse(node)


# --- walking ---------------------------------------------------------------------------------------
def walk_until_left(scenario, journey, start, holds, days=30):
    """Advance once an hour for `days`, collecting what the engine was told to do, and when."""
    done = []
    for hour in range(days * 24):
        now = start + timedelta(hours=hour)
        if now < journey.due_at:
            continue
        walk = advance(scenario, journey, now, holds)
        done += [(a.kind, a.step, (now - start).days) for a in walk.actions]
        if walk.journey is None:
            return done
        journey = walk.journey
    return done


def test_a_person_walks_the_journey_in_time_and_takes_the_branch_their_score_says():
    scenario = parse(JOURNEY)
    start = datetime(2026, 11, 23, 9, tzinfo=UTC)
    engaged = walk_until_left(
        scenario, Journey("first_purchase", "c1", 1, "thanks", start), start, lambda rule: True
    )
    assert engaged == [
        ("send", "thanks", 0),
        ("send", "tips", 3),
        ("send", "upgrade", 10),
        ("exit", "done", 10),
    ]
    quiet = walk_until_left(
        scenario, Journey("first_purchase", "c2", 1, "thanks", start), start, lambda rule: False
    )
    assert [a[:2] for a in quiet] == [
        ("send", "thanks"),
        ("send", "tips"),
        ("send", "coupon"),
        ("exit", "done"),
    ]


def test_each_action_has_a_key_for_exactly_once_and_the_goal_ends_the_journey():
    scenario = parse(JOURNEY)
    start = datetime(2026, 11, 23, 9, tzinfo=UTC)
    first = advance(scenario, Journey("first_purchase", "c1", 2, "thanks", start), start, lambda rule: True)
    assert [a.key for a in first.actions] == ["c1#first_purchase#thanks#2"]
    assert first.journey is not None and first.journey.step == "three_days"
    ended = advance(scenario, first.journey, start + timedelta(days=1), lambda rule: True, goal_reached=True)
    assert ended.journey is None and [a.kind for a in ended.actions] == ["goal"]


def test_a_split_sends_each_person_the_same_way_in_the_given_shares():
    scenario = parse(
        with_steps(
            {"id": "ab", "split": {"a": 50, "b": 40, "holdout": 10}},
            {"id": "a", "send": "tips", "next": "end"},
            {"id": "b", "send": "coupon", "next": "end"},
            {"id": "holdout", "exit": True},
            {"id": "end", "exit": True},
        )
    )
    start = datetime(2026, 11, 23, tzinfo=UTC)
    taken = {"tips": 0, "coupon": 0, "holdout": 0}
    for i in range(3000):
        walk = advance(scenario, Journey("s", f"person-{i}", 1, "ab", start), start, lambda rule: True)
        sent = [a.spec for a in walk.actions if a.kind == "send"]
        taken[sent[0] if sent else "holdout"] += 1
        again = advance(scenario, Journey("s", f"person-{i}", 1, "ab", start), start, lambda rule: True)
        assert [a.spec for a in again.actions] == [a.spec for a in walk.actions], "stable per person"
    assert 1350 < taken["tips"] < 1650 and 1050 < taken["coupon"] < 1350 and 200 < taken["holdout"] < 400
