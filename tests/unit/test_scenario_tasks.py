"""Tasks in the due index -- a resend after a soft bounce here -- are never lost: a throttled
mail service puts the task back for the next tick, a failure puts it back for later and is given
up only after a few tries, and the mail still goes once."""

from __future__ import annotations

from typing import Any

from chalicelib.services.scenario_tasks import FAILED_RETRY_MINUTES
from tests.unit.scenario_world import ScenarioWorld


def resend_due(world: ScenarioWorld) -> str:
    """Her hello mail soft-bounced: its resend is due now."""
    contact_id = world.subscriber(1)
    key = f"{contact_id}#welcome#hello#1"
    data = {"key": f"{key}#resend1", "template": "thank_you", "step": "hello"}
    world.journeys.schedule(contact_id, f"resend#{key}", world.clock() - 1, data)
    return contact_id


def test_a_resend_the_mail_service_throttles_waits_for_the_next_tick_and_goes_once():
    world = ScenarioWorld()
    resend_due(world)
    world.transport.throttle_next = 100  # SES: "Maximum sending rate exceeded", for a while

    assert world.runner().tick()["throttled"] == 1
    (waiting,) = world.journeys.tasks.values()
    assert waiting.kind == "resend" and waiting.due_at > world.clock(), "put back, not lost"

    world.transport.throttle_next = 0
    world.clock.travel(60)
    assert world.runner().tick()["tasks"] == 1
    world.clock.travel(3600)
    world.runner().tick()
    assert world.transport.to() == ["p1@example.com"] and world.journeys.tasks == {}


def test_a_resend_that_fails_is_tried_later_then_given_up_while_the_others_go_on(caplog: Any):
    world = ScenarioWorld()
    contact_id = resend_due(world)
    world.people.add("p2@example.com", "c002", status="subscribed", name="P2")
    key = "c002#welcome#hello#1"
    data = {"key": f"{key}#resend1", "template": "thank_you", "step": "hello"}
    world.journeys.schedule("c002", f"resend#{key}", world.clock() - 1, data)
    looked_up = world.people.by_id

    def broken_for_her(wanted: str) -> Any:
        if wanted == contact_id:
            raise RuntimeError("the contacts table answered 500")
        return looked_up(wanted)

    world.people.by_id = broken_for_her  # type: ignore[method-assign]
    tries = 0
    while world.journeys.tasks and tries < 10:
        world.runner().tick()
        tries += 1
        world.clock.travel(max(FAILED_RETRY_MINUTES) * 60)

    assert tries == len(FAILED_RETRY_MINUTES) + 1, "tried again after each wait, then given up"
    assert world.transport.to() == ["p2@example.com"], "the healthy neighbour went at the first tick"
    (given_up,) = [r for r in caplog.records if "given up" in r.getMessage()]
    assert given_up.contact_id == contact_id and given_up.data["key"].startswith(contact_id), "logged whole"
