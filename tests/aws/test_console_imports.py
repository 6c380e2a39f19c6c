"""The import wizard's API over moto: the signed form really uploads to the bucket, the preview
reads what was uploaded, the start saves the mapping and starts the importer through S3's own
notification, and the report, the errors file and the history follow.  Roles and CSRF hold."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import requests

from tests.aws.conftest import queued_bodies
from tests.aws.test_console_auth import session, without_csrf

CP932 = (
    "メールアドレス,氏名,会員ランク\r\ntaro@example.jp,山田 太郎,ゴールド\r\nnot-an-address,誰か,ブロンズ\r\n"
).encode("cp932")
JSON = {"Content-Type": "application/json"}


def upload(api: Any, headers: dict[str, str], name: str, body: bytes) -> str:
    """What the wizard's page does: ask for a signed form, post the file with it to S3."""
    answer = api.http.post(
        "/admin/imports/uploads", body=json.dumps({"name": name}), headers={**headers, **JSON}
    )
    assert answer.status_code == 201, answer.body
    form = answer.json_body
    posted = requests.post(form["url"], data=form["fields"], files={"file": (name, body)}, timeout=10)
    assert posted.status_code in (200, 201, 204), posted.text
    return str(form["upload"])


def run_imports(aws: dict[str, Any], api: Any) -> None:
    """Deliver what S3 queued to the handler Lambda runs, until the queue is empty."""
    sqs = aws["session"].client("sqs")
    while bodies := queued_bodies(sqs, aws["ImportQueueUrl"]):
        for text in bodies:
            event = api.events.generate_sqs_event(queue_name="sodate-imports", message_bodies=[text])
            api.lambda_.invoke("import_file", event)


def test_the_wizard_uploads_previews_maps_and_imports(aws, api, people):
    marketer = session(api, people["marketer"])
    s3 = aws["session"].client("s3")

    upload_id = upload(api, marketer, "会員.csv", CP932)
    assert run_imports(aws, api) is None and "Contents" not in s3.list_objects_v2(
        Bucket=aws["Bucket"], Prefix="results/"
    ), "an upload starts nothing"
    shown = api.http.get(f"/admin/imports/uploads/{upload_id}", headers=marketer).json_body
    assert (shown["encoding"], shown["delimiter"], shown["rows"][0][1]) == ("cp932", "comma", "山田 太郎")
    assert [c["target"] for c in shown["columns"]] == ["email", "name", "attr:会員ランク"]

    columns = {"メールアドレス": "email", "氏名": "name", "会員ランク": "customer_status"}
    started = api.http.post(
        f"/admin/imports/uploads/{upload_id}/start",
        body=json.dumps({"columns": columns}),
        headers={**marketer, **JSON},
    )
    assert started.status_code == 202, started.body
    queued = api.http.get("/admin/imports?name=" + urllib.parse.quote("会員.csv"), headers=marketer).json_body
    assert queued["status"] == "queued"
    run_imports(aws, api)

    report = api.http.get("/admin/imports?name=" + urllib.parse.quote("会員.csv"), headers=marketer).json_body
    assert (report["status"], report["created"], report["rejected"]) == ("imported", 1, 1)
    assert report["mapping_source"] == "mappings/会員.json"
    taro = api.http.get("/admin/contacts?email=taro@example.jp", headers=marketer).json_body
    assert taro["customer_status"] == "ゴールド"

    errors = api.http.get("/admin/imports/errors?name=" + urllib.parse.quote("会員.csv"), headers=marketer)
    assert errors.status_code == 303
    downloaded = requests.get(errors.headers["Location"], timeout=10)
    assert downloaded.status_code == 200 and "not-an-address" in downloaded.content.decode("utf-8-sig")
    assert "会員.errors.csv" in urllib.parse.unquote(downloaded.headers.get("Content-Disposition", ""))

    history = api.http.get("/admin/imports", headers=session(api, people["analyst"])).json_body["imports"]
    assert [(h["name"], h["status"], h["created"]) for h in history] == [("会員.csv", "imported", 1)]
    admin = session(api, people["admin"])
    audit = api.http.get("/console/audit", headers=admin).json_body["entries"]
    (entry,) = [e for e in audit if e["route"] == "/admin/imports/uploads/{upload}/start"]
    assert entry["who"] == people["marketer"] and entry["detail"]["file"] == "会員.csv"
    assert not [e for e in audit if e["route"] == "/admin/imports/uploads"], "a signed form changes nothing"


def test_only_marketers_upload_and_every_change_needs_the_csrf_token(aws, api, people):
    analyst, marketer = session(api, people["analyst"]), session(api, people["marketer"])
    body = json.dumps({"name": "a.csv"})

    assert api.http.post("/admin/imports/uploads", body=body, headers=JSON).status_code == 401
    assert api.http.post("/admin/imports/uploads", body=body, headers={**analyst, **JSON}).status_code == 403
    refused = api.http.post("/admin/imports/uploads", body=body, headers={**without_csrf(marketer), **JSON})
    assert refused.status_code == 403 and "CSRF" in refused.json_body["Message"]
    assert api.http.get("/admin/imports", headers=analyst).status_code == 200
    assert api.http.get("/admin/imports/errors?name=a.csv", headers=analyst).status_code == 403


def test_hostile_wizard_input_gets_a_4xx_that_names_the_problem(aws, api, people):
    marketer = session(api, people["marketer"])

    def post(path: str, payload: Any) -> Any:
        return api.http.post(path, body=json.dumps(payload), headers={**marketer, **JSON})

    assert "Only .csv" in post("/admin/imports/uploads", {"name": "x.xlsx"}).json_body["Message"]
    assert post("/admin/imports/uploads", {"name": "../../etc.csv"}).status_code == 400
    assert post("/admin/imports/uploads", [1]).status_code == 400
    assert api.http.get("/admin/imports/uploads/zzz", headers=marketer).status_code == 400
    assert api.http.get("/admin/imports/uploads/" + "0" * 24, headers=marketer).status_code == 404
    assert api.http.get("/admin/imports?name=never.csv", headers=marketer).status_code == 404

    upload_id = upload(api, marketer, "people.csv", b"email,name\na@x.jp,A\n")
    both = post(f"/admin/imports/uploads/{upload_id}/start", {"columns": {"email": "email", "name": "email"}})
    assert both.status_code == 400 and "both fill email" in both.json_body["Message"]
    assert post(f"/admin/imports/uploads/{upload_id}/start", {"columns": "email"}).status_code == 400
    assert (
        post(f"/admin/imports/uploads/{upload_id}/start", {"columns": {"email": "email"}}).status_code == 202
    )


def test_the_page_lets_its_script_reach_the_bucket_and_nothing_else(aws, api, people):
    marketer = session(api, people["marketer"])

    page = api.http.get("/console/imports?lang=ja", headers=marketer)

    policy = page.headers["Content-Security-Policy"]
    connect = next(p for p in policy.split("; ") if p.startswith("connect-src"))
    form = api.http.post(
        "/admin/imports/uploads", body=json.dumps({"name": "a.csv"}), headers={**marketer, **JSON}
    ).json_body
    bucket = urllib.parse.urlsplit(form["url"])
    assert connect == f"connect-src 'self' {bucket.scheme}://{bucket.netloc}"
    assert 'data-page="imports"' in page.body.decode() and "インポート" in page.body.decode()
    assert (
        "connect-src 'self';"
        in api.http.get("/console/contacts", headers=marketer).headers["Content-Security-Policy"]
    )
