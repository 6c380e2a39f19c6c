"""`make run` keeps its data: stop it, start it again, and everything is where it was --
contacts, reports, sites, definitions, parked messages, the moved clock, the admin token --
without the restore counting as new work.  `--reset` (`make reset`) starts clean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack, launch, stop

CSV = "email,name\nrestart-1@example.jp,一郎\nrestart-2@example.jp,二郎\n"


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("restart")


def test_a_restart_brings_everything_back_and_reset_starts_clean(local: Path) -> None:
    # GIVEN a stack with a marketer's day of work in it
    process, env = launch(local, "--save-every", "3600")
    first = Stack(env, local)
    first.drop("restart.csv", CSV.encode())
    assert first.report("restart.csv")["created"] == 2
    status, site = first.api(
        "/admin/sites", method="POST", body={"name": "店", "domains": ["shop.example.jp"]}
    )
    assert status == 201, site
    status, moved = first.api("/admin/clock", method="POST", body={"advance_seconds": 86400})
    assert status == 200
    first.sqs.send_message(QueueUrl=env["SODATE_IMPORT_DLQ_URL"], MessageBody='{"parked": "poison"}')
    _, person = first.api("/admin/contacts?email=restart-1@example.jp")
    _, timeline = first.api(f"/admin/contacts/{person['contact_id']}/timeline")
    _, scoring = first.api("/admin/definitions/scoring")
    printed = stop(process, local)
    assert "(new; examples/config/*.yaml loaded)" in printed
    assert json.loads((local / "state" / "meta.json").read_text())["counts"]["bucket Bucket"] > 0

    # WHEN it is started again
    process, env = launch(local, "--save-every", "3600")
    again = Stack(env, local)
    try:
        # THEN the same token opens the same data, and nothing was done twice
        assert env["SODATE_ADMIN_TOKEN"] == first.env["SODATE_ADMIN_TOKEN"]
        status, found = again.api("/admin/contacts?email=restart-2@example.jp")
        assert (status, found["name"]) == (200, "二郎")
        assert again.report("restart.csv")["created"] == 2
        assert again.api(f"/admin/sites/{site['site_id']}")[1]["name"] == "店"
        assert again.api("/admin/definitions/scoring")[1] == scoring, "the examples are not loaded over it"
        now = again.api("/admin/clock")[1]["now"]
        assert moved["now"] <= now < moved["now"] + 600, "the clock stays moved"
        parked = again.sqs.receive_message(QueueUrl=env["SODATE_IMPORT_DLQ_URL"], WaitTimeSeconds=1)
        assert [m["Body"] for m in parked.get("Messages", [])] == ['{"parked": "poison"}']
        _, same = again.api(f"/admin/contacts/{person['contact_id']}/timeline")
        seen = [json.dumps(hit, sort_keys=True) for hit in same["hits"]]
        assert timeline["hits"] and len(seen) == len(set(seen)), "nothing on the timeline twice"
        assert all(json.dumps(hit, sort_keys=True) in seen for hit in timeline["hits"])
    finally:
        printed = stop(process, local)
    assert "restored: " in printed

    # AND --reset forgets it all
    process, env = launch(local, "--reset", "--save-every", "3600")
    try:
        clean = Stack(env, local)
        assert clean.api("/admin/contacts?email=restart-2@example.jp")[0] == 404
        assert env["SODATE_ADMIN_TOKEN"] != first.env["SODATE_ADMIN_TOKEN"]
    finally:
        printed = stop(process, local)
    assert "Forgot the saved local state" in printed
