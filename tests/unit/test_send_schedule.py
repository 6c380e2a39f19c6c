"""The fleet's send schedule: each send at its own moment, so no second, however it falls, sees
more than the channel takes -- even with senders that stall and spend late."""

from __future__ import annotations

import random

import pytest

from chalicelib.domain.send_schedule import EARLY_S, LATE_S, Lease, Slots, busiest_second, next_lease

RATE = 1860.0  # 93 % of LINE's 2,000 a second


def test_a_lease_starts_where_the_last_ended_and_is_not_granted_long_before_it_starts():
    assert next_lease(0.0, 100.0, 50, RATE, 0.1) == Lease(50, 100.0, 1 / RATE)  # nothing due: now
    assert next_lease(100.05, 100.0, 50, RATE, 0.1).start == 100.05  # after what others hold
    refused = next_lease(100.3, 100.0, 50, RATE, 0.1)
    assert refused.sends == 0 and refused.start == pytest.approx(100.2)  # ask again 100 ms before


def test_a_send_waits_for_its_moment_goes_within_its_window_and_a_missed_moment_is_let_go():
    slots = Slots(early=0.005, late=0.04)
    assert slots.take(10.0) is None  # nothing in hand
    slots.add(Lease(3, 10.0, 0.01))  # moments 10.00, 10.01, 10.02
    assert slots.take(9.9) == pytest.approx(0.095)  # 5 ms early is soon enough
    assert slots.take(9.996) == 0.0  # the first goes
    assert slots.take(10.0) == pytest.approx(0.005)  # the second is not yet due
    assert slots.take(10.055) == 0.0  # 10.01 is 45 ms gone: let go; 10.02 goes, 35 ms late
    assert slots.take(10.055) is None  # all spent or let go
    assert slots.held_until() == 0.0


def test_held_until_is_the_last_moment_in_hand():
    slots = Slots()
    slots.add(Lease(3, 10.0, 0.01))
    slots.add(Lease(0, 99.0, 0.01))  # a refusal adds nothing
    slots.add(Lease(2, 10.03, 0.01))
    assert slots.held_until() == pytest.approx(10.04)


def test_busiest_second_counts_a_window_wherever_it_falls():
    assert busiest_second([]) == 0
    assert busiest_second([0.5, 0.9, 1.2, 1.45, 2.6]) == 4  # 0.5 .. 1.45, across a whole second
    assert busiest_second([0.0, 1.0, 2.0]) == 1  # a second is half-open


@pytest.mark.parametrize("seed", range(5))
def test_a_fleet_of_stalling_senders_never_puts_more_in_a_second_than_the_schedule_allows(seed):
    """Three Lambdas, four threads each, on a simulated clock: each send takes 1-4 ms, and now
    and then a whole Lambda stalls 20-150 ms (a slow answer, a frozen container) and comes back
    to the moments it holds.  Each Lambda takes the next lease when what it holds runs out
    within 30 ms, as the Messenger does."""
    rand, due = random.Random(seed), [0.0]
    lambdas = [Slots() for _ in range(3)]
    free = [0.0] * 12  # when each thread (thread n is in Lambda n % 3) is next free
    moments: list[float] = []
    while min(free) <= 10.0:
        thread = free.index(min(free))
        now, slots = free[thread], lambdas[thread % 3]
        if slots.held_until() - now < 0.03:
            lease = next_lease(due[0], now, 93, RATE, 0.1)
            slots.add(lease)
            due[0] = lease.start + lease.sends * lease.step if lease.sends else due[0]
        wait = slots.take(now)
        if wait == 0.0:
            moments.append(now)
        free[thread] = now + (rand.uniform(0.001, 0.004) if wait == 0.0 else (wait or 0.002))
        if rand.random() < 0.0003:  # the whole Lambda stalls (some five times in the ten seconds)
            until = now + rand.uniform(0.02, 0.15)
            for other in range(thread % 3, 12, 3):
                free[other] = max(free[other], until)
    assert busiest_second(moments) <= RATE * (1 + EARLY_S + LATE_S) + 1  # 1,945: 97 % of 2,000
    assert len(moments) >= 0.96 * RATE * 10, len(moments)  # the stalls cost little of the rate
