"""Deeply nested input at every entry point that reads JSON or YAML: a 4xx (or a `rejected`
report, or a parked record) that says what is wrong -- never a 500, never a lost neighbour."""

from __future__ import annotations

import json
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.hits import MAX_BODY_BYTES
from tests.aws.conftest import queued_bodies, results
from tests.aws.test_beacons import auth

ONCE_PER_FIXTURE = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def nested(depth: int, kind: str) -> str:
    """`depth` levels of lists, objects or both, as JSON."""
    opens = {"list": "[", "object": '{"a":', "mixed": '[{"a":'}[kind]
    closes = {"list": "]", "object": "}", "mixed": "}]"}[kind]
    levels = depth if kind != "mixed" else (depth + 1) // 2  # two brackets a level
    return opens * levels + "1" + closes * levels


depths = st.integers(min_value=33, max_value=1800)
kinds = st.sampled_from(["list", "object", "mixed"])


@ONCE_PER_FIXTURE
@given(depth=depths, kind=kinds)
def test_a_deep_beacon_is_a_400_whichever_way_it_comes(aws, api, site, depth, kind):
    body = nested(depth, kind)
    refused = 413 if len(body) > MAX_BODY_BYTES else 400  # too large is said first
    headers = {"Content-Type": "text/plain", "Origin": "https://shop.example.jp"}
    assert api.http.post("/t", body=body, headers=headers).status_code == refused
    pixel = api.http.get(f"/t.gif?d={quote(body)}", headers={"Accept": "image/gif"})
    assert pixel.status_code == refused and pixel.body.startswith(b"GIF89a")
    wrapped = json.dumps({"site": site["site_id"], "k": "pageview", "p": json.loads(nested(40, "object"))})
    assert api.http.post("/t", body=wrapped, headers=headers).status_code == 400


@ONCE_PER_FIXTURE
@given(depth=depths, kind=kinds, path=st.sampled_from(["/f", "/identify", "/purchases"]))
def test_a_deep_body_to_the_sites_endpoints_is_a_400_that_says_so(aws, api, site, depth, kind, path):
    body = nested(min(depth, 1500), kind)  # /f and /identify read at most 4 KiB
    answer = api.http.post(
        path, body=body, headers={"Content-Type": "application/json", "Origin": "https://shop.example.jp"}
    )
    assert answer.status_code == 400, answer.body
    assert b"nested deeper than 32 levels" in answer.body or b"larger than" in answer.body


@ONCE_PER_FIXTURE
@given(depth=st.integers(min_value=33, max_value=40_000), kind=kinds)
def test_a_deep_definitions_file_is_refused_by_the_api_with_the_reason(aws, api, depth, kind):
    answer = api.http.put(
        "/admin/definitions/segments",
        body="segments: " + nested(depth, kind),
        headers={**auth(aws), "Content-Type": "application/yaml"},
    )
    assert answer.status_code == 400, answer.body
    assert "nested deeper than 32 levels" in json.dumps(answer.json_body)


def test_a_deep_file_dropped_in_config_gets_a_report_at_once(aws, api):
    s3, sqs = aws["session"].client("s3"), aws["session"].client("sqs")
    indented = "segments:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 400)) + " " * 400 + "x: 1\n"
    for name, body in (("segments.yaml", "segments: " + nested(50_000, "list")), ("scoring.yaml", indented)):
        s3.put_object(Bucket=aws["Bucket"], Key=f"config/{name}", Body=body.encode())
        for message in queued_bodies(sqs, aws["ImportQueueUrl"]):
            event = api.events.generate_sqs_event(queue_name="sodate-imports", message_bodies=[message])
            api.lambda_.invoke("import_file", event)  # handled: no exception, so no retries
        report = results(s3, aws["Bucket"], f"config/{name}")
        assert report["status"] == "rejected", report
        assert "nested deeper than 32 levels" in json.dumps(report), report
    assert queued_bodies(sqs, aws["ImportDeadLetterQueueUrl"]) == []


def test_deep_queue_messages_are_parked_with_the_reason_beside_their_neighbours(aws, api):
    sqs = aws["session"].client("sqs")
    deep = nested(5000, "list")
    envelope = json.dumps({"Type": "Notification", "Message": nested(3000, "object")})
    for handler, queue, bodies in (
        ("import_file", "sodate-imports", [deep]),
        ("mail_feedback", "sodate-mail-feedback", [deep, envelope, json.dumps({"eventType": "Send"})]),
    ):
        api.lambda_.invoke(handler, api.events.generate_sqs_event(queue_name=queue, message_bodies=bodies))
    parked = [json.loads(b) for b in queued_bodies(sqs, aws["ImportDeadLetterQueueUrl"])]
    assert sorted(p["handler"] for p in parked) == ["mail_feedback", "mail_feedback", "work_queue"]
    assert all("nested deeper than 32 levels" in p["error"] for p in parked), parked
