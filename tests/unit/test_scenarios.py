"""Scenario definitions: checked once, every problem named by its place."""

from __future__ import annotations

import pytest

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
