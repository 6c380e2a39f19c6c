"""Every answer the API gives is safe to open in a browser: JSON is never sniffed as HTML, and
the pages Sodate serves load nothing but themselves."""

from __future__ import annotations

import json

from tests.aws.test_beacons import auth, send, view

STRICT = "default-src 'none'"


def test_json_answers_and_errors_are_never_sniffed_and_run_nothing(aws, api, site):
    answers = [
        api.http.get("/health"),
        api.http.get("/admin/contacts?email=%3Cscript%3Ealert(1)%3C/script%3E%40x.jp", headers=auth(aws)),
        api.http.get("/admin/contacts"),  # 401
        api.http.put(
            "/admin/definitions/segments",
            body="segments: [",
            headers={**auth(aws), "Content-Type": "text/yaml"},
        ),
        api.http.post(
            "/identify", body=json.dumps({"site": "nope"}), headers={"Content-Type": "application/json"}
        ),
        send(api, view(site)),
        api.http.get("/tag.js"),
    ]
    assert [a.status_code for a in answers] == [200, 404, 401, 400, 404, 204, 200]
    for answer in answers:
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Content-Security-Policy"].startswith(STRICT)
    assert answers[1].headers["Content-Type"] == "application/json"  # the address it repeats is inert text


def test_the_pages_for_people_allow_their_own_form_and_nothing_else(aws, api):
    page = api.http.get("/u/not-a-token")
    assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")
    policy = page.headers["Content-Security-Policy"]
    assert policy.startswith(STRICT) and "form-action 'self'" in policy and "script-src" not in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"


def test_json_answers_are_utf_8_with_japanese_as_it_is(aws, api):
    from tests.aws.test_api import drop_and_import

    drop_and_import(aws, api, "names.csv", "email,name\nyamada@example.jp,山田 太郎\n".encode())
    answer = api.http.get("/admin/contacts?email=yamada@example.jp", headers=auth(aws))
    assert "山田 太郎".encode() in answer.body and b"\\u" not in answer.body
    assert answer.json_body["name"] == "山田 太郎"
    missing = api.http.get("/admin/contacts?email=鈴木@example.jp", headers=auth(aws))
    assert missing.status_code == 404 and "鈴木".encode() in missing.body, "errors too"
