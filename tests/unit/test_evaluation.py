"""Scores from hits, grades, segments and the next check, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.commerce import rfm_bounds
from chalicelib.domain.definitions.compile import compile_set
from chalicelib.domain.definitions.source import load
from chalicelib.domain.evaluation import History, HitRecord, apply_hits, evaluate
from chalicelib.domain.scoring import HitFacts
from chalicelib.domain.segments.facts import Visit

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def examples():
    return compile_set(
        {
            k: load((EXAMPLES / f"{k}.yaml").read_bytes(), f"{k}.yaml")
            for k in ("catalogue", "scoring", "segments")
        }
    )


def views(path: str, count: int, start: datetime = NOW) -> list[HitRecord]:
    return [
        HitRecord(
            f"{(start + timedelta(seconds=i)).isoformat()}#v#{i}",
            start + timedelta(seconds=i),
            HitFacts("pageview", path),
        )
        for i in range(count)
    ]


def test_hits_score_once_each_and_cross_hot_once():
    defs = examples()
    contact = {"email": "a@example.com", "contact_id": "c1", "company": "Acme"}
    hits = views("/pricing", 5)
    scored = apply_hits(defs, contact, hits)
    assert [c.points for _, c in scored.changes if c.score == "interest"] == [15, 15, 15, 15], (
        "capped at 60 a day"
    )
    assert [round(c.after) for _, c in scored.hot] == [60]
    again = apply_hits(defs, contact, hits)
    assert again.changes == [] and again.hot == [], "a redelivered batch scores nothing"


def test_a_quiet_contact_cools_down_and_next_check_is_when_it_leaves_hot():
    defs = examples()
    contact = {"email": "a@example.com", "contact_id": "c1", "company": "Acme"}
    apply_hits(defs, contact, views("/pricing", 4))
    visits = History(visits=[Visit("/pricing", NOW + timedelta(seconds=i)) for i in range(4)])
    now = NOW + timedelta(minutes=1)
    first = evaluate(defs, contact, visits, now, None)
    assert first.grade == "B4" and "hot_leads" in first.segments
    # 60 halves every 14 days: below 50 after 14 * log2(60/50) = 3.68 days.
    assert first.check_at is not None
    assert timedelta(days=3.6) < first.check_at - NOW < timedelta(days=3.8)
    later = evaluate(defs, contact, visits, first.check_at, None)
    assert "hot_leads" not in later.segments and later.grade == "B3"
    assert later.scores["interest"] < 50


# --- the sweep's promise: nothing changes before check_at ---------------------------------------
_DEFS = examples()
_BOUNDS = rfm_bounds(
    [(d, o, o * 1000) for d, o in zip(range(0, 200, 7), [1, 2, 3, 5, 8] * 6, strict=False)], "x"
)


@st.composite
def _people(draw):
    contact = {
        "email": "p@example.com",
        "contact_id": "p",
        "status": draw(st.sampled_from(["subscribed", "pending"])),
    }
    if draw(st.booleans()):
        contact["company"] = "Acme"
    orders = draw(st.integers(min_value=0, max_value=12))
    if orders:
        contact["purchase_count"] = orders
        contact["total_spent"] = orders * 3000
        contact["last_purchase_date"] = (NOW - timedelta(days=draw(st.integers(0, 500)))).date().isoformat()
        contact["last_product"] = draw(st.sampled_from(["TEA-100", "TEA-500", "COFFEE-200", "TEA-POT"]))
    hits = [
        HitRecord(
            f"{(NOW - timedelta(hours=h)).isoformat()}#{i}",
            NOW - timedelta(hours=h),
            HitFacts("pageview", path),
        )
        for i, (path, h) in enumerate(
            draw(
                st.lists(
                    st.tuples(st.sampled_from(["/pricing", "/products/tea", "/"]), st.integers(0, 24 * 20)),
                    max_size=12,
                )
            )
        )
    ]
    apply_hits(_DEFS, contact, hits)
    visits = History(visits=[Visit(h.facts.path, h.at) for h in hits])
    return contact, visits


@settings(max_examples=150, deadline=None)
@given(person=_people(), fraction=st.floats(min_value=0, max_value=0.999))
def test_no_segment_or_grade_changes_before_the_next_check(person, fraction):
    contact, visits = person
    now = NOW + timedelta(minutes=5)
    first = evaluate(_DEFS, contact, visits, now, _BOUNDS)
    horizon = first.check_at or now + timedelta(days=400)
    moment = now + (horizon - now) * fraction
    later = evaluate(_DEFS, contact, visits, moment, _BOUNDS)
    assert (later.segments, later.grade) == (first.segments, first.grade)


def test_a_second_devices_older_history_still_scores_cooled_by_its_age():
    defs = examples()
    contact = {"email": "a@example.com", "contact_id": "c1"}
    apply_hits(defs, contact, views("/pricing", 1))  # today: 15
    old = views("/pricing", 1, start=NOW - timedelta(days=14))  # one half-life ago, joining later
    scored = apply_hits(defs, contact, old)
    assert [c.points for _, c in scored.changes if c.score == "interest"] == [15]
    now = evaluate(defs, contact, History(), NOW, None).scores["interest"]
    assert 22.4 < now < 22.6, "15 now plus 15 that has halved since"
    assert apply_hits(defs, contact, old).changes == [], "and only once"
