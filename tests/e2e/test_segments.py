"""Customers with purchase history, dropped into the bucket, land in the commerce segments."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.conftest import Stack


def members(stack: Stack, segment: str) -> set[str]:
    """Every member, page by page (other tests share the stack: segments can be large)."""
    found: set[str] = set()
    cursor = ""
    while True:
        status, body = stack.api(f"/admin/segments/{segment}/members?limit=500{cursor}")
        assert status == 200, body
        found |= {m["email"] for m in body["members"]}
        if not body["next_cursor"]:
            return found
        cursor = f"&cursor={body['next_cursor']}"


def eventually(check: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_purchase_history_makes_repeat_replenishment_and_rfm_segments(stack: Stack) -> None:
    today = datetime.now(UTC).date()
    day = {n: (today - timedelta(days=n)).isoformat() for n in (1, 3, 40, 400)}
    rows = [
        "email,name,購入回数,累計購入金額,最終購入日,最終購入商品",
        f"kei@example.jp,Kei,14,300000,{day[1]},TEA-500",
        f"rin@example.jp,Rin,2,2400,{day[40]},TEA-100",
        f"yui@example.jp,Yui,1,1200,{day[3]},COFFEE-200",
        f"sho@example.jp,Sho,6,80000,{day[400]},TEA-500",
        "mai@example.jp,Mai,,,,",
    ]
    stack.drop("history.csv", ("\n".join(rows) + "\n").encode("cp932"))
    assert stack.report("history.csv")["created"] == 5

    def commerce_segments() -> None:
        assert members(stack, "repeat_buyers") >= {"kei@example.jp", "rin@example.jp", "sho@example.jp"}
        assert "yui@example.jp" in members(stack, "first_time_buyers")
        assert "rin@example.jp" in members(stack, "tea_refill_due"), "40 days after a 30-day bag"
        assert "kei@example.jp" not in members(stack, "tea_refill_due")
        assert "mai@example.jp" in members(stack, "prospects")
        assert "sho@example.jp" in members(stack, "lapsed_customers")

    eventually(commerce_segments)

    status, job = stack.api("/admin/jobs/rfm", method="POST")
    assert status == 200 and job["buyers"] >= 4

    def rfm_segments() -> None:
        assert "kei@example.jp" in members(stack, "champions")
        _, kei = stack.api("/admin/contacts?email=kei@example.jp")
        assert kei["rfm_group"] == "champions"

    eventually(rfm_segments)
