"""Signing in to the console, over the emulator's Cognito and DynamoDB: the cookie, the roles,
the CSRF token, sign-out, expiry, the admin token beside it, and the audit log."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from chalicelib import clock
from tests.aws.conftest import CONSOLE_PASSWORD

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config"

PASSWORD = CONSOLE_PASSWORD
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def post_form(api: Any, path: str, fields: dict[str, str], headers: dict[str, str] | None = None) -> Any:
    return api.http.post(path, body=urlencode(fields), headers={**FORM, **(headers or {})})


def sign_in(api: Any, email: str, password: str = PASSWORD, ip_headers: dict[str, str] | None = None) -> Any:
    return post_form(api, "/console/sign-in", {"email": email, "password": password}, ip_headers)


def cookie_of(answer: Any) -> str:
    value = re.match(r"sodate_session=([^;]*)", answer.headers["Set-Cookie"])
    assert value, answer.headers
    return value.group(1)


def session(api: Any, email: str) -> dict[str, str]:
    """Signed in as `email`: the headers a browser would send, with the CSRF token of the session."""
    answer = sign_in(api, email)
    assert answer.status_code == 303, answer.body
    headers = {"Cookie": f"sodate_session={cookie_of(answer)}"}
    me = api.http.get("/console/me", headers=headers)
    assert me.status_code == 200, me.body
    return {**headers, "X-CSRF-Token": me.json_body["csrf_token"]}


def without_csrf(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != "X-CSRF-Token"}


def bearer(aws: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {aws['token']}"}


def put_definition(api: Any, headers: dict[str, str], kind: str = "catalogue") -> Any:
    body = (EXAMPLES / f"{kind}.yaml").read_text()
    return api.http.put(
        f"/admin/definitions/{kind}", body=body, headers={**headers, "Content-Type": "application/yaml"}
    )


def test_nobody_signed_in_is_refused_with_401(aws, api, people):
    for path in ("/console/me", "/console/audit", "/admin/contacts", "/admin/segments"):
        assert api.http.get(path).status_code == 401, path
        for cookie in (
            "sodate_session=made-up",
            "sodate_session=" + "A" * 43,
            "sodate_session=" + "x" * 9000,
        ):
            assert api.http.get(path, headers={"Cookie": cookie}).status_code == 401, (path, cookie[:30])
    page = api.http.get("/console")
    assert page.status_code == 303 and page.headers["Location"].startswith("console/sign-in")
    slash = api.http.get("/console/")
    assert slash.status_code == 303 and slash.headers["Location"].startswith("../console?"), "one address"


def test_signing_in_sets_a_strict_cookie_and_the_session_knows_who_and_what_role(aws, api, people):
    answer = sign_in(api, "Marketer@Shop.example.jp ")  # as people type it
    assert answer.status_code == 303 and answer.headers["Location"].startswith("../console")
    flags = [part.strip() for part in answer.headers["Set-Cookie"].split(";")]
    assert {"HttpOnly", "Secure", "SameSite=Strict", "Path=/"} <= set(flags), flags
    secret = cookie_of(answer)
    assert len(secret) >= 43

    me = api.http.get("/console/me", headers={"Cookie": f"sodate_session={secret}"})
    assert me.status_code == 200 and me.headers["Cache-Control"] == "no-store"
    assert (me.json_body["who"], me.json_body["role"]) == ("marketer@shop.example.jp", "marketer")
    assert len(me.json_body["csrf_token"]) >= 43

    stored = aws["session"].client("dynamodb").scan(TableName=aws["ConsoleTable"])["Items"]
    assert stored and secret not in json.dumps(stored), "the table keeps a hash of the cookie, not the cookie"

    landing = api.http.get(
        "/console", headers={"Cookie": f"sodate_session={secret}", "Accept-Language": "en"}
    )
    assert landing.status_code == 200 and b"marketer@shop.example.jp" in landing.body
    assert b"Sign out" in landing.body and me.json_body["csrf_token"].encode() in landing.body


def test_a_wrong_password_and_an_unknown_address_get_the_same_answer(aws, api, people):
    wrong = sign_in(api, "admin@shop.example.jp", "Not-the-password-1")
    unknown = sign_in(api, "stranger@shop.example.jp", "Not-the-password-1")
    assert wrong.status_code == unknown.status_code == 401
    assert "Set-Cookie" not in wrong.headers and "Set-Cookie" not in unknown.headers
    assert wrong.body.replace(b"admin@", b"X@") == unknown.body.replace(b"stranger@", b"X@")
    assert b"The email address or the password is not right." in wrong.body


def test_failed_sign_ins_are_limited_per_address_even_with_the_right_password_after(aws, api, people):
    for _ in range(5):
        assert sign_in(api, "analyst@shop.example.jp", "Guess-guess-1").status_code == 401
    assert sign_in(api, "analyst@shop.example.jp").status_code == 429, "the sixth try waits, right or wrong"
    for _ in range(5):
        assert sign_in(api, "ghost@shop.example.jp", "Guess-guess-1").status_code == 401
    assert sign_in(api, "ghost@shop.example.jp", "Guess-guess-1").status_code == 429, "unknown: the same"
    assert sign_in(api, "admin@shop.example.jp").status_code == 303, "other addresses are not held up"
    clock.travel(16 * 60)
    assert sign_in(api, "analyst@shop.example.jp").status_code == 303, "after the window, in again"


def test_an_account_without_a_role_is_refused(aws, api, people):
    answer = sign_in(api, people["nobody"])
    assert answer.status_code == 403 and "Set-Cookie" not in answer.headers
    assert b"no console role" in answer.body


def test_an_analyst_reads_but_changes_nothing(aws, api, people):
    import app as sodate

    analyst = session(api, people["analyst"])
    assert api.http.get("/admin/contacts", headers=analyst).status_code == 200
    assert api.http.get("/admin/segments", headers=analyst).status_code == 200
    assert api.http.get("/admin/scenarios", headers=analyst).status_code == 200
    assert api.http.get("/console/audit", headers=analyst).status_code == 403, "the audit log is for admins"
    assert api.http.get("/admin/contacts/x/export", headers=analyst).status_code == 403, (
        "a person's whole file"
    )
    changes = [
        (path, method)
        for path, entries in sodate.app.routes.items()
        for method in entries
        if path.startswith("/admin/") and method not in ("GET", "HEAD", "OPTIONS")
    ]
    assert len(changes) >= 8
    for path, method in changes:
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        answer = api.http.request(
            method, concrete, body=b"{}", headers={**analyst, "Content-Type": "application/json"}
        )
        assert answer.status_code == 403, (method, path, answer.body)
        assert b"analyst role may not" in answer.body


def test_a_marketer_changes_definitions_but_may_not_erase_anyone(aws, api, people):
    marketer = session(api, people["marketer"])
    assert put_definition(api, marketer).status_code == 200
    erase = api.http.delete("/admin/contacts/someone", headers=marketer)
    assert erase.status_code == 403 and b"needs admin" in erase.body
    admin = session(api, people["admin"])
    assert api.http.delete("/admin/contacts/someone", headers=admin).status_code == 404, (
        "let in; nobody there"
    )


def test_a_change_without_the_sessions_csrf_token_is_refused(aws, api, people):
    marketer = session(api, people["marketer"])
    missing = put_definition(api, without_csrf(marketer))
    assert missing.status_code == 403 and b"CSRF" in missing.body
    assert put_definition(api, {**marketer, "X-CSRF-Token": "A" * 43}).status_code == 403
    other = session(api, people["admin"])["X-CSRF-Token"]
    assert put_definition(api, {**marketer, "X-CSRF-Token": other}).status_code == 403, "another session's"
    answer = api.http.get("/admin/definitions/catalogue", headers=bearer(aws))
    assert answer.status_code == 404, "nothing was applied"
    assert put_definition(api, marketer).status_code == 200


def test_signing_out_ends_the_session_and_clears_the_cookie(aws, api, people):
    admin = session(api, people["admin"])
    refused = post_form(api, "/console/sign-out", {}, without_csrf(admin))
    assert refused.status_code == 403, "signing someone out from another site is a change too"
    answer = post_form(api, "/console/sign-out", {"csrf_token": admin["X-CSRF-Token"]}, without_csrf(admin))
    assert answer.status_code == 303 and answer.headers["Location"].startswith("sign-in?signed_out=1")
    assert "Max-Age=0" in answer.headers["Set-Cookie"] and "sodate_session=;" in answer.headers["Set-Cookie"]
    assert api.http.get("/console/me", headers=admin).status_code == 401
    assert api.http.get("/admin/contacts", headers=admin).status_code == 401


def test_a_session_ends_when_idle_and_in_any_case_after_twelve_hours(aws, api, people):
    idle = session(api, people["analyst"])
    clock.travel(29 * 60)
    assert api.http.get("/console/me", headers=idle).status_code == 200, "29 minutes idle: still there"
    clock.travel(29 * 60)
    assert api.http.get("/console/me", headers=idle).status_code == 200, "each use starts the idle time again"
    clock.travel(31 * 60)
    assert api.http.get("/console/me", headers=idle).status_code == 401, "31 minutes idle: over"

    busy = session(api, people["analyst"])
    for _ in range(35):  # used every 20 minutes for 11 h 40 min
        clock.travel(20 * 60)
        assert api.http.get("/console/me", headers=busy).status_code == 200
    clock.travel(20 * 60)
    assert api.http.get("/console/me", headers=busy).status_code == 401, "12 hours after sign-in: over"


def test_the_admin_token_still_works_and_needs_no_csrf_token(aws, api, people):
    assert api.http.get("/admin/contacts", headers=bearer(aws)).status_code == 200
    assert put_definition(api, bearer(aws)).status_code == 200
    me = api.http.get("/console/me", headers=bearer(aws)).json_body
    assert me == {"who": "admin-token", "role": "admin", "csrf_token": None}
    wrong = {"Authorization": "Bearer nope"}
    assert api.http.get("/admin/contacts", headers=wrong).status_code == 401
    admin = session(api, people["admin"])
    assert api.http.get("/admin/contacts", headers={**admin, **wrong}).status_code == 401, (
        "a wrong token is wrong"
    )


def test_changes_are_in_the_audit_log_with_who_and_the_versions_before_and_after(aws, api, people):
    marketer = session(api, people["marketer"])
    assert put_definition(api, marketer).status_code == 200
    assert put_definition(api, bearer(aws)).status_code == 200
    broken = api.http.put(
        "/admin/definitions/catalogue", body="products: [", headers={**marketer, "Content-Type": "text/yaml"}
    )
    assert broken.status_code == 400, "refused: nothing changed, nothing to record"
    admin = session(api, people["admin"])

    log = api.http.get("/console/audit", headers=admin)
    assert log.status_code == 200
    entries = log.json_body["entries"]
    changes = [e for e in entries if e["route"] == "/admin/definitions/{kind}"]
    assert [(e["who"], e["method"], e["target"], e["detail"]) for e in changes] == [
        ("admin-token", "PUT", "catalogue", {"version_before": "1", "version_after": "2"}),
        ("marketer@shop.example.jp", "PUT", "catalogue", {"version_before": "0", "version_after": "1"}),
    ], "newest first; the refused change is not there"
    sign_ins = [(e["who"], e["detail"]) for e in entries if e["route"] == "/console/sign-in"]
    assert sign_ins == [
        ("admin@shop.example.jp", {"role": "admin"}),
        ("marketer@shop.example.jp", {"role": "marketer"}),
    ]
    assert entries == sorted(entries, key=lambda e: e["at"], reverse=True)


def test_the_audit_log_pages_back_over_days_with_a_cursor(aws, api, people):
    for _ in range(3):
        assert put_definition(api, bearer(aws)).status_code == 200
        clock.travel(86400 * 2)  # one change every other day
    admin = session(api, people["admin"])  # a sign-in today: four entries in all
    seen, cursor = [], None
    for _ in range(10):
        query = "/console/audit?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.http.get(query, headers=admin).json_body
        assert len(page["entries"]) <= 2
        seen += page["entries"]
        cursor = page["cursor"]
        if cursor is None:
            break
    assert [e["detail"].get("version_after") for e in seen] == [None, "3", "2", "1"]
    assert api.http.get("/console/audit?cursor=bm9wZQ", headers=admin).status_code == 400
    assert api.http.get("/console/audit?limit=0", headers=admin).status_code == 400


def test_a_user_an_admin_created_chooses_a_password_first(aws, api, people):
    cognito = aws["session"].client("cognito-idp")
    email = "new@shop.example.jp"
    cognito.admin_create_user(
        UserPoolId=aws["UserPoolId"],
        Username=email,
        TemporaryPassword="Temporary-pass-1",
        MessageAction="SUPPRESS",
    )
    cognito.admin_add_user_to_group(UserPoolId=aws["UserPoolId"], Username=email, GroupName="analyst")

    first = sign_in(api, email, "Temporary-pass-1")
    assert first.status_code == 200 and "Set-Cookie" not in first.headers
    step = re.search(rb'name="step" value="([^"]+)"', first.body).group(1).decode()
    form = {"step": step, "email": email}

    weak = post_form(api, "/console/set-password", {**form, "new_password": "short", "repeat": "short"})
    assert weak.status_code == 400 and b"at least 12 characters" in weak.body and b"a symbol" in weak.body
    differ = post_form(
        api, "/console/set-password", {**form, "new_password": PASSWORD, "repeat": PASSWORD + "x"}
    )
    assert differ.status_code == 400 and b"differ" in differ.body
    done = post_form(api, "/console/set-password", {**form, "new_password": PASSWORD, "repeat": PASSWORD})
    assert done.status_code == 303, done.body
    me = api.http.get("/console/me", headers={"Cookie": f"sodate_session={cookie_of(done)}"}).json_body
    assert (me["who"], me["role"]) == (email, "analyst")

    again = post_form(api, "/console/set-password", {**form, "new_password": PASSWORD, "repeat": PASSWORD})
    assert again.status_code == 400 and b"expired" in again.body, "a step is used once"
    assert sign_in(api, email).status_code == 303, "and the new password is the password"


def test_the_doors_forms_refuse_posts_from_other_sites(aws, api, people):
    forged = sign_in(api, people["admin"], ip_headers={"Origin": "https://evil.example", "Host": "api.test"})
    assert forged.status_code == 403 and "Set-Cookie" not in forged.headers
    cross = sign_in(api, people["admin"], ip_headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    ours = sign_in(api, people["admin"], ip_headers={"Origin": "https://api.test", "Host": "api.test"})
    assert ours.status_code == 303


def test_the_sign_in_page_speaks_the_browsers_language_and_loads_nothing(aws, api, people):
    english = api.http.get("/console/sign-in", headers={"Accept-Language": "en-GB,en;q=0.9,ja;q=0.5"})
    japanese = api.http.get("/console/sign-in", headers={"Accept-Language": "ja,en;q=0.8"})
    assert b"Email address" in english.body and "メールアドレス".encode() in japanese.body
    assert b'lang="en"' in english.body and b'lang="ja"' in japanese.body
    switched = api.http.get("/console/sign-in?lang=en", headers={"Accept-Language": "ja"})
    assert b'lang="en"' in switched.body
    policy = english.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'") and "form-action 'self'" in policy
    assert "unsafe-inline" not in policy and "script-src" not in policy and "frame-ancestors 'none'" in policy
    assert english.headers["Cache-Control"] == "no-store"
    assert b"<script" not in english.body and b"http" not in english.body.split(b"<body>")[1]
