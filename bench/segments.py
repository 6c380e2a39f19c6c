"""Segment evaluation, pure, one core: contacts per second against 20 realistic segments."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.segments.facts import Facts, Visit
from chalicelib.domain.segments.rules import Predicate, compile_rule

NOW = datetime(2026, 11, 23, tzinfo=UTC)

SEGMENTS: list[dict[str, Any]] = [
    {"field": "status", "eq": "subscribed"},
    {"field": "purchase_count", "eq": 0},
    {"field": "purchase_count", "gte": 1},
    {"field": "purchase_count", "eq": 1},
    {"field": "purchase_count", "gte": 2},
    {
        "all": [
            {"field": "purchase_count", "gte": 1},
            {"field": "last_purchase_date", "more_than_days_ago": 180},
        ]
    },
    {"field": "last_purchase_date", "within_last_days": 30},
    {"field": "total_spent", "gte": 100000},
    {"all": [{"field": "age", "between": [20, 29]}, {"field": "gender", "eq": "female"}]},
    {"all": [{"field": "age", "between": [30, 49]}, {"field": "gender", "eq": "male"}]},
    {"field": "company", "exists": True},
    {"field": "attr.会員ランク", "in": ["A", "B"]},
    {"viewed": "/pricing*", "at_least": 3, "within_days": 7},
    {"viewed": "/products/*", "at_least": 5, "within_days": 30},
    {"viewed": "/careers*", "within_days": 30},
    {"did": "newsletter_signup", "within_days": 90},
    {"score": "main", "gte": 60},
    {"grade": ["A1", "A2", "B1"]},
    {"any": [{"field": "customer_status", "eq": "vip"}, {"field": "total_spent", "gte": 500000}]},
    {"not": {"field": "status", "in": ["unsubscribed", "suppressed"]}},
]


def contacts(count: int, seed: int = 3) -> list[Facts]:
    rng = random.Random(seed)
    paths = ["/", "/pricing", "/pricing/pro", "/products/tea", "/products/cup", "/blog/a", "/careers"]
    people = []
    for i in range(count):
        contact = {
            "email": f"u{i}@example.com",
            "status": rng.choice(["subscribed", "pending", "unsubscribed"]),
            "age": rng.randint(18, 80),
            "gender": rng.choice(["male", "female"]),
            "purchase_count": rng.randint(0, 5),
            "total_spent": rng.randint(0, 600000),
            "last_purchase_date": (NOW - timedelta(days=rng.randint(0, 400))).date().isoformat(),
            "attrs": {"会員ランク": rng.choice("ABC")},
        }
        if i % 3:
            contact["company"] = "Acme"
        visits = [
            Visit(rng.choice(paths), NOW - timedelta(days=rng.randint(0, 40)))
            for _ in range(rng.randint(0, 12))
        ]
        people.append(
            Facts(
                contact=contact,
                now=NOW,
                scores={"main": rng.uniform(0, 100)},
                grade=rng.choice(["A1", "B2", "C3", "D4"]),
                visits=visits,
                events={"newsletter_signup": NOW - timedelta(days=rng.randint(0, 200))},
            )
        )
    return people


def run(count: int = 20_000, given: list[Facts] | None = None, fast: bool = True) -> float:
    """Contact evaluations per second (each evaluates all 20 segments), through the fast
    predicates evaluation uses (fast=False: the reference predicates)."""
    rules = [compile_rule(s) for s in SEGMENTS]
    compiled: list[Predicate] = [r.fast if fast else r.predicate for r in rules]
    people = given or contacts(count)
    started = time.process_time()
    for facts in people:
        [rule(facts) for rule in compiled]
    return len(people) / (time.process_time() - started)


def reference_run(count: int = 20_000, given: list[Facts] | None = None) -> float:
    return run(count, given, fast=False)
