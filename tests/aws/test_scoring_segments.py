"""Definitions, scores, grades and segments through the real handlers, with moto behind them."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chalicelib.domain.tokens import sign
from tests.aws.conftest import queued_bodies, results, sent_mail
from tests.aws.test_api import drop_and_import
from tests.aws.test_beacons import auth, send
from tests.aws.test_identity import contact_by_email, pageview, timeline

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config"


def drop_config(aws, api, name: str, body: bytes) -> dict:
    """A marketer drops a definition file; the queue delivers it to the handler; the report comes back."""
    s3, sqs = aws["session"].client("s3"), aws["session"].client("sqs")
    s3.put_object(Bucket=aws["Bucket"], Key=f"config/{name}", Body=body)
    for body_text in queued_bodies(sqs, aws["ImportQueueUrl"]):
        event = api.events.generate_sqs_event(queue_name="sodate-imports", message_bodies=[body_text])
        api.lambda_.invoke("import_file", event)
    return results(s3, aws["Bucket"], f"config/{name}")


def work_queue(aws, api) -> None:
    """Deliver everything on the work queue (continuations, re-evaluations) until it is empty."""
    sqs = aws["session"].client("sqs")
    while bodies := queued_bodies(sqs, aws["ImportQueueUrl"]):
        for body_text in bodies:
            event = api.events.generate_sqs_event(queue_name="sodate-imports", message_bodies=[body_text])
            api.lambda_.invoke("import_file", event)


def load_examples(aws, api) -> None:
    for kind in ("catalogue", "scoring", "segments", "templates", "scenarios", "forms"):
        report = drop_config(aws, api, f"{kind}.yaml", (EXAMPLES / f"{kind}.yaml").read_bytes())
        assert report["status"] == "applied", report


def put_definition(api, aws, kind: str, text: str):
    return api.http.put(
        f"/admin/definitions/{kind}", body=text, headers={**auth(aws), "Content-Type": "application/yaml"}
    )


def members(api, aws, segment: str) -> set[str]:
    answer = api.http.get(f"/admin/segments/{segment}/members?limit=500", headers=auth(aws))
    assert answer.status_code == 200, answer.body
    return {m["email"] for m in answer.json_body["members"]}


def identify(api, site, visitor: str, email: str) -> str:
    token = sign({"v": visitor, "email": email}, site["secret"], int(time.time()) + 300)
    answer = api.http.post(
        "/identify",
        body=json.dumps({"site": site["site_id"], "token": token}),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.body
    return str(answer.json_body["contact_id"])


# --- definitions ---------------------------------------------------------------------------------
def test_the_shipped_examples_apply_and_versions_are_kept(aws, api):
    load_examples(aws, api)
    again = drop_config(aws, api, "segments.yaml", (EXAMPLES / "segments.yaml").read_bytes())
    assert (again["status"], again["version"]) == ("applied", 2)

    described = api.http.get("/admin/definitions/segments", headers=auth(aws)).json_body
    assert described["version"] == 2
    assert [v["version"] for v in described["versions"]] == [2, 1]
    first = api.http.get("/admin/definitions/segments/versions/1", headers=auth(aws)).json_body
    assert first["text"] == (EXAMPLES / "segments.yaml").read_text()


def test_a_bad_segments_file_is_reported_by_line_and_field_and_changes_nothing(aws, api):
    load_examples(aws, api)
    bad = b"""segments:
  - name: shoes
    rule: {field: shoe_size, gte: 42}
  - name: young
    rule: {field: age, lt: "young"}
  - name: a
    rule: {segment: b}
  - name: b
    rule: {not: {segment: a}}
  - name: slow
    rule: {field: company, matches: "(a)\\\\1"}
"""
    report = drop_config(aws, api, "segments.yaml", bad)

    assert report["status"] == "rejected"
    assert report["still_active"] == 1
    found = {(e["line"], e["field"]) for e in report["errors"]}
    assert (3, "segments[0].rule.field") in found
    assert (5, "segments[1].rule.lt") in found
    assert (11, "segments[4].rule.matches") in found
    words = " ".join(e["message"] for e in report["errors"])
    assert "unknown field 'shoe_size'" in words
    assert "cycle: a -> b -> a" in words
    assert "back references are not supported" in words
    sizes = api.http.get("/admin/segments", headers=auth(aws)).json_body
    assert "hot_leads" in [s["name"] for s in sizes["segments"]], "the previous version stays active"
    assert sizes["version"] == 1


def test_the_api_takes_definitions_too_and_refuses_a_change_that_breaks_another_file(aws, api):
    load_examples(aws, api)
    # The segments use the 'interest' score: a scoring file without it breaks them.
    answer = put_definition(
        api,
        aws,
        "scoring",
        "scores:\n  - name: other\n    rules:\n      - {name: x, viewed: /x, points: 1}\n",
    )
    assert answer.status_code == 400
    errors = answer.json_body["errors"]
    assert any(
        e["file"] == "config/segments.yaml" and "no score named 'interest'" in e["message"] for e in errors
    )

    wrong_type = put_definition(api, aws, "catalogue", "products:\n  - {sku: TEA-100, cycle_days: thirty}\n")
    assert wrong_type.status_code == 400
    assert wrong_type.json_body["errors"][0] == {
        "file": "api:catalogue",
        "line": 2,
        "field": "products[0].cycle_days",
        "message": "expected whole days from 1 to 3650, got 'thirty'",
    }
    assert put_definition(api, aws, "nonsense", "x: 1").status_code == 404
    assert api.http.get("/admin/definitions/scoring", headers=auth(aws)).json_body["version"] == 1


# --- scores, hot, sales alert ---------------------------------------------------------------------
def subscribe_queue(aws) -> str:
    """Another integration listening on the sales-alerts topic (an SQS queue subscribed to it)."""
    sqs, sns = aws["session"].client("sqs"), aws["session"].client("sns")
    url = sqs.create_queue(QueueName="crm-listener")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=aws["SalesAlertsTopicArn"],
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    return str(url)


def test_pricing_views_make_a_contact_hot_once_alert_sales_and_explain_every_point(aws, api, site, streams):
    load_examples(aws, api)
    listener = subscribe_queue(aws)
    drop_and_import(aws, api, "c.csv", b"email,name,company\naiko@example.com,Aiko Sato,Acme\n")
    contact_id = identify(api, site, "device-aaaa", "aiko@example.com")
    streams()

    for _ in range(4):  # 15 points each: 15, 30, 45, 60 -> hot (50) on the fourth
        assert send(api, pageview(site, "device-aaaa", "/pricing")).status_code == 204
    streams()
    send(api, pageview(site, "device-aaaa", "/pricing/enterprise"))  # capped at 60 a day: no points, no alert
    streams()

    aiko = contact_by_email(api, aws, "aiko@example.com")
    assert aiko["scores"]["interest"] >= 59.9
    assert aiko["grade"] == "B4", "profile B (has a company), engagement 4 (hot)"
    assert {"hot_leads", "pricing_researchers", "prospects"} <= set(aiko["segments"])
    assert members(api, aws, "hot_leads") == {"aiko@example.com"}

    entries = timeline(api, aws, contact_id)
    points = [e for e in entries if e["kind"] == "score" and e["name"] == "interest"]
    assert [p["points"] for p in points] == ["15", "15", "15", "15"]
    assert all(p["rule"] == "pricing page" and p["because"] == "pageview /pricing" for p in points)
    assert [e["name"] for e in entries if e["kind"] == "hot"] == ["interest"]
    assert {"hot_leads", "pricing_researchers"} <= {
        e["name"] for e in entries if e["kind"] == "segment_enter"
    }

    mail = [m for m in sent_mail() if "Hot lead" in m["subject"]]
    assert len(mail) == 1, "one alert per crossing, not one per hit"
    assert mail[0]["to"] == ["sales@example.com"]
    assert mail[0]["source"] == aws["SenderAddress"]
    assert "Aiko Sato" in mail[0]["subject"]
    assert "/pricing" in mail[0]["body"] and "Acme" in mail[0]["body"]

    [published] = queued_bodies(aws["session"].client("sqs"), listener)
    alert = json.loads(published)
    assert (alert["email"], alert["score"], alert["company"]) == ("aiko@example.com", "interest", "Acme")
    assert [p["path"] for p in alert["recent_pages"]][:4] == ["/pricing"] * 4


def test_a_form_submission_scores_and_the_timeline_says_which_form(aws, api, site, streams):
    load_examples(aws, api)
    from tests.aws.test_identity import form

    assert send(api, pageview(site, "visitor-fm01", "/whitepaper")).status_code == 204
    answer = form(
        api, site, v="visitor-fm01", email="nao@example.com", form="newsletter_signup", path="/whitepaper"
    )
    assert answer.status_code == 202
    streams()
    assert contact_by_email(api, aws, "nao@example.com")["scores"]["interest"] == 0, "a claim scores nobody"
    identify(api, site, "visitor-fm01", "nao@example.com")  # proof: the browser's history is hers
    streams()
    nao = contact_by_email(api, aws, "nao@example.com")
    assert nao["scores"]["interest"] == 10, "the 'form' rule: 10 points"
    points = [e for e in timeline(api, aws, nao["contact_id"]) if e["kind"] == "score"]
    assert [(p["rule"], p["because"]) for p in points] == [("form", "form newsletter_signup")]


def report_purchase(api, site, claims: dict):
    token = sign(claims, site["secret"], int(time.time()) + 300)
    return api.http.post(
        "/purchases",
        body=json.dumps({"site": site["site_id"], "token": token}),
        headers={"Content-Type": "application/json"},
    )


def test_signed_purchases_are_counted_once_per_order_and_move_segments(aws, api, site, streams):
    load_examples(aws, api)
    first = {"email": "mio@example.com", "order_id": "A-1", "total": 1200, "items": [{"sku": "TEA-100"}]}
    assert report_purchase(api, site, first).json_body["recorded"] is True
    assert report_purchase(api, site, first).json_body["recorded"] is False, "a resend changes nothing"
    streams()
    mio = contact_by_email(api, aws, "mio@example.com")
    assert (mio["purchase_count"], mio["total_spent"]) == (1, 1200)
    assert {"first_time_buyers", "tea_buyers", "upgrade_candidates", "option_candidates"} <= set(
        mio["segments"]
    )
    assert mio["scores"]["interest"] == 20 and mio["scores"]["tea"] == 10

    report_purchase(api, site, {**first, "order_id": "A-2", "items": [{"sku": "TEA-500"}]})
    streams()
    mio = contact_by_email(api, aws, "mio@example.com")
    assert "repeat_buyers" in mio["segments"] and "first_time_buyers" not in mio["segments"]
    assert "upgrade_candidates" not in mio["segments"], "bought the upgrade"

    forged = sign(first, "not-the-secret", int(time.time()) + 300)
    answer = api.http.post(
        "/purchases",
        body=json.dumps({"site": site["site_id"], "token": forged}),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 403
    missing = report_purchase(api, site, {"email": "mio@example.com", "total": 5})
    assert missing.status_code == 400 and "order_id" in missing.json_body["Message"]


def test_a_purchase_reported_by_the_tag_becomes_an_order(aws, api, site, streams):
    load_examples(aws, api)
    identify(api, site, "device-dddd", "sora@example.com")
    hit = {
        **pageview(site, "device-dddd", "/thanks"),
        "k": "conversion",
        "n": "purchase",
        "a": "3000",
        "p": {"order_id": "T-9", "skus": "COFFEE-200"},
    }
    assert send(api, hit).status_code == 204
    streams()
    sora = contact_by_email(api, aws, "sora@example.com")
    assert (sora["purchase_count"], sora["total_spent"]) == (1, 3000)
    assert sora["products"] == {"COFFEE-200": datetime.now(UTC).date().isoformat()}


CUSTOMERS = """email,name,購入回数,累計購入金額,初回購入日,最終購入日,最終購入商品
champ@example.com,Champ,12,240000,2024-01-10,{d1},TEA-500
loyal@example.com,Loyal,8,90000,2024-03-01,{d3},TEA-500
r1@example.com,R1,1,900,{d2},{d2},COFFEE-200
r2@example.com,R2,1,900,{d5},{d5},COFFEE-200
r3@example.com,R3,1,900,{d10},{d10},COFFEE-200
r4@example.com,R4,1,900,{d1},{d1},COFFEE-200
refill@example.com,Refill,2,2400,2026-01-01,{refill},TEA-100
once@example.com,Once,1,1200,{old},{old},TEA-100
lost@example.com,Lost,1,800,2023-01-01,2023-01-01,COFFEE-200
slept@example.com,Slept,9,150000,2023-05-01,{old},TEA-500
new@example.com,New,,,,,
"""


def test_a_customer_csv_with_purchase_history_fills_repeat_replenishment_and_rfm_segments(aws, api, streams):
    load_examples(aws, api)
    today = datetime.now(UTC).date()
    body = CUSTOMERS.format(
        **{f"d{n}": (today - timedelta(days=n)).isoformat() for n in (1, 2, 3, 5, 10)},
        refill=(today - timedelta(days=40)).isoformat(),
        old=(today - timedelta(days=400)).isoformat(),
    )
    assert drop_and_import(aws, api, "customers.csv", body.encode())["created"] == 11
    streams()
    assert members(api, aws, "repeat_buyers") == {
        "champ@example.com",
        "loyal@example.com",
        "refill@example.com",
        "slept@example.com",
    }
    assert members(api, aws, "prospects") == {"new@example.com"}
    assert members(api, aws, "tea_refill_due") == {"refill@example.com", "once@example.com"}
    assert members(api, aws, "lapsed_customers") == {
        "once@example.com",
        "lost@example.com",
        "slept@example.com",
    }

    job = api.http.post("/admin/jobs/rfm", headers=auth(aws)).json_body
    # Recency cut points among the ten buyers fall at 1, 3, 10 and 400 days.
    assert job["buyers"] == 10 and job["moved"] == 10
    assert job["recency_days"] == [1, 3, 10, 400]
    streams()
    assert members(api, aws, "champions") == {"champ@example.com"}
    assert members(api, aws, "at_risk") == {"slept@example.com", "refill@example.com"}
    champ = contact_by_email(api, aws, "champ@example.com")
    assert champ["rfm"] == "555" and champ["rfm_group"] == "champions"

    sizes = {
        s["name"]: s["size"] for s in api.http.get("/admin/segments", headers=auth(aws)).json_body["segments"]
    }
    assert sizes["repeat_buyers"] == 4 and sizes["prospects"] == 1


def test_members_page_with_a_cursor_and_export_to_the_bucket_is_formula_safe(aws, api, streams):
    load_examples(aws, api)
    rows = "".join(f'p{i}@example.com,=HYPERLINK("x"),\n' for i in range(7))
    drop_and_import(aws, api, "people.csv", f"email,company,status\n{rows}".encode())
    streams()

    seen, cursor = [], None
    while True:
        query = f"?limit=3{'&cursor=' + cursor if cursor else ''}"
        page = api.http.get(f"/admin/segments/prospects/members{query}", headers=auth(aws)).json_body
        seen += [m["email"] for m in page["members"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(f"p{i}@example.com" for i in range(7))

    answer = api.http.post("/admin/segments/prospects/export", headers=auth(aws))
    assert answer.status_code == 201 and answer.json_body["rows"] == 7
    key = answer.json_body["key"]
    assert key.startswith("exports/prospects-") and key.endswith(".csv")
    body = (
        aws["session"]
        .client("s3")
        .get_object(Bucket=aws["Bucket"], Key=key)["Body"]
        .read()
        .decode("utf-8-sig")
    )
    table = list(csv.DictReader(io.StringIO(body)))
    assert {r["email"] for r in table} == set(seen)
    assert all(r["company"] == '\'=HYPERLINK("x")' for r in table), "formulas neutralised"
    assert api.http.get("/admin/segments/nope/members", headers=auth(aws)).status_code == 404


def test_new_definitions_re_evaluate_the_people_already_there(aws, api, streams):
    drop_and_import(
        aws, api, "early.csv", "email,購入回数\nearly@example.com,3\nlater@example.com,1\n".encode()
    )
    streams()  # nothing defined yet: nobody is in anything
    load_examples(aws, api)
    work_queue(aws, api)
    assert members(api, aws, "repeat_buyers") == {"early@example.com"}
    assert members(api, aws, "first_time_buyers") == {"later@example.com"}

    changed = (
        (EXAMPLES / "segments.yaml")
        .read_text()
        .replace("rule: {customer: repeat}", "rule: {field: purchase_count, gte: 1}")
    )
    assert put_definition(api, aws, "segments", changed).status_code == 200
    work_queue(aws, api)
    streams()
    assert members(api, aws, "repeat_buyers") == {"early@example.com", "later@example.com"}
    sizes = {
        s["name"]: s["size"] for s in api.http.get("/admin/segments", headers=auth(aws)).json_body["segments"]
    }
    assert sizes["repeat_buyers"] == 2
