"""The preference page through the real routes, moto behind them: a GET shows, POSTs change."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from chalicelib.domain.tokens import sign
from tests.aws.test_api import drop_and_import
from tests.aws.test_beacons import auth
from tests.aws.test_scoring_segments import put_definition

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config"
FORM_POST = {"Content-Type": "application/x-www-form-urlencoded"}


def preference_token(aws: dict[str, Any], contact_id: str) -> str:
    """What a mail's footer links: signed with the link key, for the mail's ledger key."""
    secrets = aws["session"].client("secretsmanager")
    key = secrets.get_secret_value(SecretId=aws["LinkSigningKeySecret"])["SecretString"]
    return sign({"pref": f"{contact_id}#welcome#tips#1"}, key, int(time.time()) + 3600)


def person(api: Any, aws: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = api.http.get(
        "/admin/contacts?email=aiko@example.com", headers=auth(aws)
    ).json_body
    return found


def test_the_page_shows_then_its_posts_change_topics_pause_and_everything(aws, api):
    assert put_definition(api, aws, "templates", (EXAMPLES / "templates.yaml").read_text()).status_code == 200
    drop_and_import(aws, api, "list.csv", b"email,name,consent\naiko@example.com,Aiko,yes\n")
    contact_id = person(api, aws)["contact_id"]
    token = preference_token(aws, contact_id)

    shown = api.http.get(f"/p/{token}")
    page = shown.body.decode()
    assert shown.status_code == 200 and "aiko@example.com" in page
    assert 'value="newsletter" checked' in page and 'value="offers" checked' in page
    assert shown.headers["Referrer-Policy"] == "no-referrer" and "<script" not in page
    assert person(api, aws)["status"] == "subscribed" and "topics_off" not in person(api, aws)

    saved = api.http.post(
        f"/p/{token}",
        body=urlencode({"action": "save", "topics": "newsletter", "pause": "7"}),
        headers=FORM_POST,
    )
    assert saved.status_code == 200 and "保存しました / Saved" in saved.body.decode()
    now = person(api, aws)
    assert now["topics"] == ["newsletter"] and now["topics_off"] == ["offers"]
    assert now["paused_until"] > now["updated_at"]
    assert 'value="offers">' in saved.body.decode(), "the page shows what is now so"

    bad = api.http.post(f"/p/{token}", body=urlencode({"action": "save", "pause": "9999"}), headers=FORM_POST)
    assert bad.status_code == 400 and "Not saved: pause: one of 0, 7, 30, 90 days." in bad.body.decode()
    assert bad.headers["Content-Type"].startswith("text/html"), "a form's refusal is a page"
    for odd, said in (("²", "pause"), ("٣", "pause"), ("7" * 5000, "The form is larger than 4 KiB")):
        refused = api.http.post(  # digits Python reads but no pause is, and a body no page sends
            f"/p/{token}", body=urlencode({"action": "save", "pause": odd}), headers=FORM_POST
        )
        assert refused.status_code == 400 and f"Not saved: {said}" in refused.body.decode(), odd

    gone = api.http.post(f"/p/{token}", body="action=unsubscribe", headers=FORM_POST)
    assert gone.status_code == 200 and "Unsubscribed" in gone.body.decode()
    assert person(api, aws)["status"] == "unsubscribed"
    ledger = api.http.get(f"/admin/contacts/{contact_id}/consent", headers=auth(aws)).json_body["entries"]
    assert [(e["change"], e["source"]) for e in ledger] == [
        ("granted", "import"),
        ("topics", "preferences"),
        ("paused", "preferences"),
        ("withdrawn", "preferences"),
    ]


def test_a_forged_or_foreign_token_shows_a_page_and_changes_nothing(aws, api):
    drop_and_import(aws, api, "list.csv", b"email,name,consent\naiko@example.com,Aiko,yes\n")
    forged = sign(
        {"pref": f"{person(api, aws)['contact_id']}#welcome#tips#1"}, "guessed", int(time.time()) + 60
    )
    assert api.http.get(f"/p/{forged}").status_code == 404
    assert api.http.post(f"/p/{forged}", body="action=unsubscribe", headers=FORM_POST).status_code == 404
    unsubscribe_token = preference_token(aws, "x").replace("pref", "unsub")  # not even signed so
    assert api.http.get(f"/p/{unsubscribe_token}").status_code == 404
    assert person(api, aws)["status"] == "subscribed"
