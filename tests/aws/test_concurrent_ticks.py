"""Ticks that overlap on AWS (a 60 s tick on a 1-minute schedule, an admin tick beside a
scheduled one): walkers that read the same due people at the same moment, held at a barrier,
must leave everyone exactly where one tick alone would -- one mail each, every report figure
and timeline entry exact."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.aws.clients import client
from chalicelib.domain.journeys import Place
from chalicelib.store.contact_state import ContactState
from chalicelib.store.journeys import JourneyStore
from tests.aws.test_api import drop_and_import
from tests.aws.test_identity import contact_by_email, timeline
from tests.aws.test_scenarios import buyers_csv, raw_mail, report
from tests.aws.test_scoring_segments import put_definition
from tests.unit.scenario_world import ONE_MAIL_A_DAY  # the same scenario the interleaving tests walk

PEOPLE = [f"p{n}@example.com" for n in range(16)]


class OneRequestAtATime:
    """DynamoDB applies each request atomically; moto in-process runs a request in the caller's
    thread, where two ADDs to one counter can interleave.  Calls from the walkers still
    interleave freely -- one whole request at a time, as against DynamoDB."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self.exceptions = client.exceptions

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return method(*args, **kwargs)

        return call


def walk_together(walkers: int) -> None:
    """Each walker reads the due people, waits until all have read, then walks them."""
    settings = bootstrap.settings()
    dynamodb = OneRequestAtATime(client("dynamodb"))
    bootstrap.provide(
        journey_store=JourneyStore(dynamodb, settings.journeys_table),
        contact_state=ContactState(
            dynamodb, settings.contacts_table, settings.events_table, settings.suppressions_table
        ),
    )
    runner, store = bootstrap.runner(), bootstrap.journey_store()
    everyone_read = threading.Barrier(walkers, timeout=30)
    errors: list[BaseException] = []

    def walker() -> None:
        try:
            due = [p for s in range(store.shards) for p in store.due(s, runner.now().timestamp(), 500)]
            everyone_read.wait()
            runner.walk_many([p for p in due if isinstance(p, Place)])
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=walker) for _ in range(walkers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


@pytest.mark.parametrize("walkers", [2, 8])
def test_ticks_started_together_end_where_one_tick_alone_would(aws, api, streams, shop, walkers):
    # GIVEN sixteen new buyers entered into a scenario under a cap of one mail a day
    assert put_definition(api, aws, "scenarios", ONE_MAIL_A_DAY).status_code == 200
    drop_and_import(aws, api, "buyers.csv", buyers_csv(*PEOPLE))
    streams()

    # WHEN several ticks walk them at the same moment
    walk_together(walkers)

    # THEN each got the welcome mail once and walked to the end, nobody held back by the cap
    assert sorted(m["To"] for m in raw_mail()) == sorted(PEOPLE)
    for email in PEOPLE:
        contact_id = contact_by_email(api, aws, email)["contact_id"]
        (place,) = bootstrap.journey_store().places_of(contact_id)
        assert (place.status, place.journey.step) == ("exited", "bye"), email
        kinds = sorted(
            e["kind"] for e in timeline(api, aws, contact_id) if e["kind"].startswith(("scenario", "mail"))
        )
        assert kinds == ["mail_sent", "scenario_enter", "scenario_exit", "scenario_update"], email
    # and the report counts each person once
    figures = report(api, aws, "welcome")
    assert figures["totals"]["entered"] == 16 and figures["totals"]["exit"] == 16
    assert figures["totals"]["sent"] == 16
    steps = {s["step"]: s for s in figures["steps"]}
    assert steps["hello"]["sent"] == 16 and steps["a"].get("update", 0) + steps["b"].get("update", 0) == 16
    branches = {b["branch"]: b for b in figures["branches"]}
    assert sum(b["entered"] for b in branches.values()) == 16
