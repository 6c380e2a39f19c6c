from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.scoring import HitFacts, ScoreState, crossed_hot, decayed, parse_score_model, score_hit
from chalicelib.domain.segments.rules import RuleError

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
MODEL = parse_score_model(
    {
        "name": "main",
        "half_life_days": 14,
        "bands": [20, 40, 60],
        "rules": [
            {"name": "pricing", "viewed": "/pricing*", "points": 10, "cap": {"points": 30, "per_days": 1}},
            {"name": "careers", "viewed": "/careers*", "points": -15},
            {"name": "webinar", "did": "webinar_signup", "points": 25},
            {"name": "purchase", "converted": "purchase", "points": 50},
        ],
    }
)


def test_a_score_halves_every_half_life_and_never_warms_by_itself():
    assert decayed(80, T0, T0 + timedelta(days=14), 14) == pytest.approx(40)
    assert decayed(80, T0, T0 + timedelta(days=28), 14) == pytest.approx(20)
    assert decayed(80, T0, T0 - timedelta(days=5), 14) == 80


def test_hits_add_points_with_reasons_and_caps_per_period():
    state = ScoreState()
    changes = [c for _ in range(5) for c in score_hit(MODEL, state, HitFacts("pageview", "/pricing/pro"), T0)]
    assert [c.points for c in changes] == [10, 10, 10], "capped at 30 a day"
    assert changes[-1].after == 30 and changes[0].rule == "pricing"
    next_day = T0 + timedelta(days=1)
    assert [c.points for c in score_hit(MODEL, state, HitFacts("pageview", "/pricing"), next_day)] == [10]


def test_negative_points_and_events_and_purchases():
    state = ScoreState()
    score_hit(MODEL, state, HitFacts("event", name="webinar_signup"), T0)
    score_hit(MODEL, state, HitFacts("pageview", "/careers/engineer"), T0)
    score_hit(MODEL, state, HitFacts("conversion", name="purchase"), T0)
    assert state.current(MODEL, T0) == 60


def test_bots_never_score():
    state = ScoreState()
    assert score_hit(MODEL, state, HitFacts("pageview", "/pricing", bot=True), T0) == []
    assert state.current(MODEL, T0) == 0


def test_a_person_who_stops_visiting_cools_down_and_hot_is_crossed_once():
    state = ScoreState()
    before = state.current(MODEL, T0)
    score_hit(MODEL, state, HitFacts("conversion", name="purchase"), T0)
    score_hit(MODEL, state, HitFacts("pageview", "/pricing"), T0)
    after = state.current(MODEL, T0)
    assert crossed_hot(MODEL, before, after) and MODEL.band(after) == 4
    again = score_hit(MODEL, state, HitFacts("pageview", "/pricing"), T0)[0]
    assert not crossed_hot(MODEL, again.before, again.after), "staying hot is not a new crossing"
    assert MODEL.band(state.current(MODEL, T0 + timedelta(days=28))) == 1


@pytest.mark.parametrize(
    ("definition", "where"),
    [
        (
            {"name": "main", "rules": [{"name": "x", "viewed": "/p", "points": "ten"}]},
            "score.rules[0].points",
        ),
        ({"name": "main", "rules": [{"name": "x", "points": 1}]}, "score.rules[0]"),
        (
            {"name": "main", "bands": [60, 40, 20], "rules": [{"name": "x", "did": "e", "points": 1}]},
            "score.bands",
        ),
        (
            {"name": "main", "half_life_days": 0, "rules": [{"name": "x", "did": "e", "points": 1}]},
            "score.half_life_days",
        ),
        ({"name": "my score", "rules": []}, "score.name"),
    ],
)
def test_bad_score_definitions_name_the_place(definition, where):
    with pytest.raises(RuleError) as error:
        parse_score_model(definition)
    assert error.value.where == where
