"""`make run` keeps its data: stop it, start it again, and everything is where it was --
contacts, reports, sites, definitions, parked messages, the moved clock, the admin token, the
console's users -- without the restore counting as new work.  `--reset` (`make reset`) starts
clean."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

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


class _Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_: Any) -> None:  # the 303 of a signed-in form is the answer
        return None


def console_sign_in(env: dict[str, str], email: str, password: str) -> tuple[int, str]:
    """The console's sign-in form posted as a browser posts it: 303 in, 200 a page that asks for
    a new password, 401 refused."""
    form = urllib.parse.urlencode({"email": email, "password": password}).encode()
    request = urllib.request.Request(
        env["SODATE_CONSOLE_URL"], form, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    try:
        with urllib.request.build_opener(_Stay).open(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_console_users_come_back_with_their_roles_and_sign_in_with_the_printed_password(local: Path) -> None:
    # GIVEN an admin who invited a marketer (who has chosen a password since), an analyst (who has
    # not yet) and another marketer they then switched off
    process, env = launch(local / "users", "--save-every", "3600")
    first = Stack(env, local / "users")
    people = {
        "marketer@shop.example.jp": "marketer",
        "analyst@shop.example.jp": "analyst",
        "gone@shop.example.jp": "marketer",
    }
    try:
        for email, role in people.items():
            status, invited = first.api("/admin/users", method="POST", body={"email": email, "role": role})
            assert status == 201, invited
        status, _ = first.api("/admin/users/gone@shop.example.jp", method="PUT", body={"enabled": False})
        assert status == 200
        cognito = first.cognito
        cognito.admin_set_user_password(  # what the console's set-password page ends in
            UserPoolId=env["SODATE_USER_POOL_ID"],
            Username="marketer@shop.example.jp",
            Password="Chosen-by-me-42!",
            Permanent=True,
        )
        before = [
            {k: v for k, v in u.items() if k != "created_at"} for u in first.api("/admin/users")[1]["users"]
        ]
    finally:
        stop(process, local / "users")
    assert {u["email"]: (u["role"], u["status"], u["enabled"]) for u in before} == {
        "admin@example.com": ("admin", "CONFIRMED", True),
        "marketer@shop.example.jp": ("marketer", "CONFIRMED", True),
        "analyst@shop.example.jp": ("analyst", "FORCE_CHANGE_PASSWORD", True),
        "gone@shop.example.jp": ("marketer", "FORCE_CHANGE_PASSWORD", False),
    }

    # WHEN the stack is started again
    process, env = launch(local / "users", "--save-every", "3600")
    try:
        # THEN the Users page lists the same people, roles, states and switches
        again = Stack(env, local / "users")
        after = [
            {k: v for k, v in u.items() if k != "created_at"} for u in again.api("/admin/users")[1]["users"]
        ]
        assert after == before
        # AND they sign in with the console password the stack prints (theirs was not kept): the
        # marketer straight in, the analyst still choosing one, the switched-off one not at all
        password = env["SODATE_CONSOLE_PASSWORD"]
        assert console_sign_in(env, "marketer@shop.example.jp", password)[0] == 303
        assert console_sign_in(env, "marketer@shop.example.jp", "Chosen-by-me-42!")[0] == 401
        status, page = console_sign_in(env, "analyst@shop.example.jp", password)
        assert status == 200 and 'name="step"' in page, "asked to choose a password"
        assert console_sign_in(env, "gone@shop.example.jp", password)[0] == 401
        assert console_sign_in(env, env["SODATE_CONSOLE_USER"], password)[0] == 303
    finally:
        printed = stop(process, local / "users")
    assert "4 restored; each signs in with SODATE_CONSOLE_PASSWORD" in printed


def test_an_erasure_s_second_sweep_waits_across_a_restart(local: Path) -> None:
    # GIVEN a person erased a moment ago: their history is swept again in five minutes
    process, env = launch(local / "erasure", "--save-every", "3600")
    first = Stack(env, local / "erasure")
    try:
        first.drop("erase.csv", b"email\nerase-me@example.jp\n")
        assert first.report("erase.csv")["created"] == 1
        _, person = first.api("/admin/contacts?email=erase-me@example.jp")
        status, _ = first.api(f"/admin/contacts/{person['contact_id']}", method="DELETE")
        assert status in (200, 204)
        assert delayed(first) == 1
    finally:
        stop(process, local / "erasure")

    # WHEN the stack is stopped within those five minutes and started again
    process, env = launch(local / "erasure", "--save-every", "3600")
    try:
        # THEN the sweep is still coming, not yet due
        assert delayed(Stack(env, local / "erasure")) == 1
    finally:
        stop(process, local / "erasure")


def delayed(stack: Stack) -> int:
    """The work queue's messages still within their DelaySeconds."""
    attributes = stack.sqs.get_queue_attributes(
        QueueUrl=stack.env["SODATE_IMPORT_QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessagesDelayed"])
