"""Scores from hits, grades, segments and the next check, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from chalicelib.domain.definitions.compile import compile_set
from chalicelib.domain.definitions.source import load
from chalicelib.domain.evaluation import History, HitRecord, apply_hits, evaluate
from chalicelib.domain.scoring import HitFacts
from chalicelib.domain.segments.facts import Visit

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def examples():
    return compile_set({k: load((EXAMPLES / f"{k}.yaml").read_bytes(), f"{k}.yaml") for k in ("catalogue", "scoring", "segments")})


def views(path: str, count: int, start: datetime = NOW) -> list[HitRecord]:
    return [
        HitRecord(f"{(start + timedelta(seconds=i)).isoformat()}#v#{i}", start + timedelta(seconds=i), HitFacts("pageview", path))
        for i in range(count)
    ]


def test_hits_score_once_each_and_cross_hot_once():
    defs = examples()
    contact = {"email": "a@example.com", "contact_id": "c1", "company": "Acme"}
    hits = views("/pricing", 5)
    scored = apply_hits(defs, contact, hits)
    assert [c.points for _, c in scored.changes if c.score == "interest"] == [15, 15, 15, 15], "capped at 60 a day"
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
