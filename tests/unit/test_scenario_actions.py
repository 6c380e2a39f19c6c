"""A scenario's own steps -- a sales alert, an update of the person -- are claimed in the ledger
before they are done, so a re-walk never does them twice; when doing one fails for a passing
reason (the sales mail throttled, the contacts table busy) the claim is given back, so the next
tick does it instead of finding it "done"."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.errors import TransientError
from tests.unit.scenario_world import ScenarioWorld

STEPS = """
timezone: UTC
scenarios:
  - name: hot
    entry: {segment: hot_leads}
    steps:
      - {id: tell, notify_sales: {message: call them}}
      - {id: mark, update: {attrs: {called: "yes"}}}
      - {id: bye, exit: true}
"""


def failing_once(world: ScenarioWorld, monkeypatch: pytest.MonkeyPatch, target: Any, name: str) -> None:
    real, failed = getattr(target, name), []

    def once(*args: Any) -> Any:
        if not failed:
            failed.append(name)
            raise TransientError(f"{name}: Maximum sending rate exceeded")
        return real(*args)

    monkeypatch.setattr(target, name, once)


@pytest.mark.parametrize("fails", ["alert", "update"])
def test_a_step_that_fails_for_a_passing_reason_is_done_at_the_next_tick_once(
    monkeypatch: pytest.MonkeyPatch, fails: str
) -> None:
    world = ScenarioWorld(STEPS)
    contact_id = world.subscriber(1)
    world.entered(contact_id, "hot", "tell")
    if fails == "alert":
        failing_once(world, monkeypatch, world.alerts, "mail")
    else:
        failing_once(world, monkeypatch, world.people, "set_attrs")

    with pytest.raises(TransientError):
        world.runner().tick()
    world.clock.travel(60)
    world.runner().tick()
    world.clock.travel(60)
    world.runner().tick()

    assert len(world.alerts.mails) == 1, "the sales team is told once"
    person = world.people.by_id(contact_id)
    assert person is not None and person["attrs"] == {"called": "yes"}
    assert {p.status for p in world.journeys.places.values()} == {"exited"}
