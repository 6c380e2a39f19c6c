"""Definitions from the console's editor: a check that changes nothing, every problem at its
line, applying, and rolling back to an earlier version -- recorded in the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.aws.test_console_auth import session

SEGMENTS = (Path(__file__).resolve().parents[2] / "examples" / "config" / "segments.yaml").read_text()
YAML = {"Content-Type": "application/yaml"}
BROKEN = SEGMENTS.replace("rule: {field: status, eq: subscribed}", "rule: {field: mood, eq: subscribed}")


def put(api: Any, headers: dict[str, str], text: str, check: bool = False) -> Any:
    path = "/admin/definitions/segments" + ("?check=1" if check else "")
    return api.http.put(path, body=text.encode(), headers={**headers, **YAML})


def test_a_check_shows_each_problem_at_its_line_and_changes_nothing(aws, api, people, shop):
    marketer = session(api, people["marketer"])  # the examples are in force: segments version 1

    broken = put(api, marketer, BROKEN, check=True)
    assert broken.status_code == 400
    line = next(n for n, text in enumerate(BROKEN.splitlines(), 1) if "field: mood" in text)
    assert [(e["line"], "mood" in e["message"]) for e in broken.json_body["errors"]] == [(line, True)]

    fine = put(
        api, marketer, SEGMENTS + "  - name: vip\n    rule: {field: customer_status, eq: vip}\n", check=True
    )
    assert (
        fine.status_code == 200
        and fine.json_body["status"] == "valid"
        and "vip" in fine.json_body["summary"]["segments"]
    )
    assert fine.json_body["in_force"] == 1
    now = api.http.get("/admin/definitions/segments", headers=marketer).json_body
    assert now["version"] == 1 and len(now["versions"]) == 1, "a check keeps nothing"

    admin = session(api, people["admin"])
    routes = [e["route"] for e in api.http.get("/console/audit", headers=admin).json_body["entries"]]
    assert "/admin/definitions/{kind}" not in routes, "a check is not a change"


def test_rolling_back_puts_an_earlier_text_in_force_as_the_newest_version(aws, api, people, shop):
    marketer, analyst = session(api, people["marketer"]), session(api, people["analyst"])
    changed = SEGMENTS + "  - name: vip\n    rule: {field: customer_status, eq: vip}\n"
    assert put(api, marketer, changed).json_body["version"] == 2

    assert api.http.post("/admin/definitions/segments/versions/1/restore", headers=analyst).status_code == 403
    back = api.http.post("/admin/definitions/segments/versions/1/restore", headers=marketer)
    assert back.status_code == 200 and (back.json_body["version"], back.json_body["previous_version"]) == (
        3,
        2,
    )
    now = api.http.get("/admin/definitions/segments", headers=marketer).json_body
    assert now["text"] == SEGMENTS and now["file"] == "restore:segments:1"
    assert [v["file"] for v in now["versions"]] == [
        "restore:segments:1",
        "api:segments",
        "config/segments.yaml",
    ]
    assert [v["version"] for v in now["versions"]] == [3, 2, 1]
    assert api.http.get("/admin/segments", headers=marketer).status_code == 200
    for bad in ("9", "x"):
        assert api.http.post(
            f"/admin/definitions/segments/versions/{bad}/restore", headers=marketer
        ).status_code in (400, 404)

    admin = session(api, people["admin"])
    entries = api.http.get("/console/audit", headers=admin).json_body["entries"]
    restored = [e for e in entries if e["route"].endswith("/restore")]
    assert [(e["who"], e["target"], e["detail"]) for e in restored] == [
        (
            "marketer@shop.example.jp",
            "segments/1",
            {"version_before": "2", "version_after": "3", "restored": "1"},
        )
    ]


def test_the_editor_page_allows_its_styles_by_a_nonce_made_for_each_answer(aws, api, people):
    analyst = session(api, people["analyst"])
    nonces = []
    for _ in range(2):
        page = api.http.get("/console/definitions?kind=segments", headers=analyst)
        assert page.status_code == 200 and 'src="../console/static/editor-' in page.body.decode()
        nonce = page.body.decode().split("data-nonce='")[1].split("'")[0]
        assert f"style-src 'self' 'nonce-{nonce}'" in page.headers["Content-Security-Policy"]
        nonces.append(nonce)
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 24
    overview = api.http.get("/console", headers=analyst)
    assert "nonce" not in overview.headers["Content-Security-Policy"], "only the editor's page needs one"
