"""The console's users, managed by an admin over the emulator's Cognito: the members with their
roles, an invitation, a new role or a switched-off account ending the person's sessions at once,
each change in the audit log; and the forgotten-password pages, which say the same for any
address."""

from __future__ import annotations

import json
from typing import Any

from tests.aws.test_console_auth import post_form, session, sign_in, without_csrf

JSON = {"Content-Type": "application/json"}


def put(api: Any, headers: dict[str, str], email: str, body: dict[str, Any]) -> Any:
    return api.http.put(f"/admin/users/{email}", body=json.dumps(body), headers={**headers, **JSON})


def listed(api: Any, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    answer = api.http.get("/admin/users", headers=headers)
    assert answer.status_code == 200, answer.body
    return {member["email"]: member for member in answer.json_body["users"]}


def test_an_admin_invites_someone_and_only_an_admin_may(aws, api, people):
    admin = session(api, people["admin"])
    members = listed(api, admin)
    assert {e: m["role"] for e, m in members.items()} == {
        "admin@shop.example.jp": "admin",
        "marketer@shop.example.jp": "marketer",
        "analyst@shop.example.jp": "analyst",
        "nobody@shop.example.jp": None,
    }
    assert members["admin@shop.example.jp"]["enabled"] is True

    invited = {"email": "Hana@Shop.example.jp", "role": "marketer"}
    answer = api.http.post("/admin/users", body=json.dumps(invited), headers={**admin, **JSON})
    assert answer.status_code == 201, answer.body
    assert answer.json_body["email"] == "hana@shop.example.jp"
    assert answer.json_body["status"] == "FORCE_CHANGE_PASSWORD", "invited: not signed in yet"
    assert listed(api, admin)["hana@shop.example.jp"]["role"] == "marketer"
    again = api.http.post("/admin/users", body=json.dumps(invited), headers={**admin, **JSON})
    assert again.status_code == 409 and "has an account already" in again.json_body["Message"]
    bad = api.http.post(
        "/admin/users", body=json.dumps({"email": "x@y.jp", "role": "owner"}), headers={**admin, **JSON}
    )
    assert bad.status_code == 400 and "role must be one of" in bad.json_body["Message"]

    body = json.dumps({"email": "mallory@shop.example.jp", "role": "admin"})
    for role in ("marketer", "analyst"):
        refused = api.http.post("/admin/users", body=body, headers={**session(api, people[role]), **JSON})
        assert refused.status_code == 403, role
    assert (
        api.http.post("/admin/users", body=body, headers={**without_csrf(admin), **JSON}).status_code == 403
    )
    assert api.http.get("/admin/users").status_code == 401
    assert "mallory@shop.example.jp" not in listed(api, admin)

    audit = api.http.get("/console/audit", headers=admin).json_body["entries"]
    entry = next(e for e in audit if e["route"] == "/admin/users")
    assert (entry["who"], entry["method"]) == ("admin@shop.example.jp", "POST")
    assert entry["detail"] == {"email": "hana@shop.example.jp", "role": "marketer"}


def test_a_new_role_or_a_switched_off_account_ends_the_sessions_at_once(aws, api, people):
    admin = session(api, people["admin"])
    marketer = session(api, people["marketer"])
    assert api.http.get("/console/me", headers=marketer).json_body["role"] == "marketer"

    changed = put(api, admin, "marketer%40shop.example.jp", {"role": "analyst"})
    assert changed.status_code == 200, changed.body
    assert api.http.get("/console/me", headers=marketer).status_code == 401, "the old session is over"
    assert (
        api.http.get("/console/me", headers=session(api, people["marketer"])).json_body["role"] == "analyst"
    )

    analyst = session(api, people["analyst"])
    assert put(api, admin, "analyst@shop.example.jp", {"enabled": False}).status_code == 200
    assert api.http.get("/console/me", headers=analyst).status_code == 401
    assert sign_in(api, people["analyst"]).status_code == 401, "a switched-off account cannot sign in"
    assert listed(api, admin)["analyst@shop.example.jp"]["enabled"] is False
    assert put(api, admin, "analyst@shop.example.jp", {"enabled": True}).status_code == 200
    assert sign_in(api, people["analyst"]).status_code == 303

    own = put(api, admin, "admin@shop.example.jp", {"role": "analyst"})
    assert own.status_code == 400 and "your own account" in own.json_body["Message"]
    unknown = put(api, admin, "ghost@shop.example.jp", {"role": "analyst"})
    assert unknown.status_code == 404
    for body in ({"enabled": "no"}, {}, {"role": "analyst", "password": "x"}):
        assert put(api, admin, "analyst@shop.example.jp", body).status_code == 400, body
    entries = api.http.get("/console/audit", headers=admin).json_body["entries"]
    switched = [e for e in entries if e["route"] == "/admin/users/{email}" and e["detail"].get("enabled")]
    assert [e["detail"]["enabled"] for e in switched] == ["true", "false"], "newest first"


def test_an_address_with_a_percent_sign_changes_that_account_and_no_other(aws, api, people):
    admin = session(api, people["admin"])
    for address in ("sale%41@shop.example.jp", "salea@shop.example.jp"):  # %41 read twice is "A"
        invited = {"email": address, "role": "analyst"}
        assert (
            api.http.post("/admin/users", body=json.dumps(invited), headers={**admin, **JSON}).status_code
            == 201
        )

    assert put(api, admin, "sale%2541%40shop.example.jp", {"enabled": False}).status_code == 200

    members = listed(api, admin)
    assert members["sale%41@shop.example.jp"]["enabled"] is False
    assert members["salea@shop.example.jp"]["enabled"] is True
    entry = api.http.get("/console/audit", headers=admin).json_body["entries"][0]
    assert entry["target"] == "sale%41@shop.example.jp", entry


def test_a_forgotten_password_page_says_the_same_for_any_address(aws, api, people):
    page = api.http.get("/console/sign-in?lang=en")
    assert 'href="forgot?lang=en"' in page.body.decode()
    assert api.http.get("/console/forgot?lang=en").status_code == 200
    known = post_form(api, "/console/forgot?lang=en", {"email": people["analyst"]})
    unknown = post_form(api, "/console/forgot?lang=en", {"email": "ghost@shop.example.jp"})
    assert known.status_code == unknown.status_code == 200
    assert known.body.decode().replace(people["analyst"], "@") == unknown.body.decode().replace(
        "ghost@shop.example.jp", "@"
    )
    assert "If the address has an account" in known.body.decode()
    wrong = post_form(
        api,
        "/console/reset?lang=en",
        {
            "email": people["analyst"],
            "code": "12x",
            "new_password": "Brand-new-Pass-1",
            "repeat": "Brand-new-Pass-1",
        },
    )
    assert wrong.status_code == 400 and "not right or has expired" in wrong.body.decode()
    differ = post_form(
        api,
        "/console/reset?lang=en",
        {"email": people["analyst"], "code": "123456", "new_password": "a", "repeat": "b"},
    )
    assert differ.status_code == 400 and "differ" in differ.body.decode()
    assert (
        post_form(api, "/console/forgot", {"email": "x@y.jp"}, {"Origin": "https://evil.example"}).status_code
        == 403
    )
