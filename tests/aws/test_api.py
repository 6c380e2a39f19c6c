"""The deployed surface -- routes and the import handler -- over moto (chalice.test.Client)."""

from __future__ import annotations

import json

import pytest

from chalicelib import bootstrap, clock
from chalicelib.web import work_messages
from tests.aws.conftest import queued_bodies, results

CSV = (
    "email,name,company,age,consent\n"
    "Aiko@Example.com,Aiko Sato,Acme,31,yes\n"
    "ben@example.com,Ben,Beta,,\n"
    "carl@example.com,Carl,,abc,\n"
)


def auth(aws):
    return {"Authorization": f"Bearer {aws['token']}"}


def drop_and_import(aws, api, name: str, body: bytes) -> dict:
    """Put a file; deliver what S3 queued to the very handler Lambda runs, until the queue is empty."""
    s3, sqs = aws["session"].client("s3"), aws["session"].client("sqs")
    s3.put_object(Bucket=aws["Bucket"], Key=f"imports/{name}", Body=body)
    while bodies := queued_bodies(sqs, aws["ImportQueueUrl"]):
        for body_text in bodies:
            event = api.events.generate_sqs_event(queue_name="sodate-imports", message_bodies=[body_text])
            api.lambda_.invoke("import_file", event)
    return results(s3, aws["Bucket"], name)


def test_admin_api_needs_the_bearer_token(aws, api):
    assert api.http.get("/admin/contacts").status_code == 401
    assert api.http.get("/admin/contacts", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert api.http.get("/admin/contacts", headers={"Authorization": aws["token"]}).status_code == 401
    assert api.http.get("/admin/contacts", headers=auth(aws)).status_code == 200


def test_a_dropped_csv_is_imported_and_found_by_email_and_by_id(aws, api):
    report = drop_and_import(aws, api, "people.csv", CSV.encode())
    assert (report["created"], report["rejected"]) == (2, 1)

    found = api.http.get("/admin/contacts?email=AIKO@example.com", headers=auth(aws))
    assert found.status_code == 200
    aiko = found.json_body
    assert (aiko["email"], aiko["name"], aiko["age"], aiko["status"]) == (
        "aiko@example.com",
        "Aiko Sato",
        31,
        "subscribed",
    )
    by_id = api.http.get(f"/admin/contacts/{aiko['contact_id']}", headers=auth(aws))
    assert by_id.json_body == aiko
    assert api.http.get("/admin/contacts?email=nobody@example.com", headers=auth(aws)).status_code == 404
    assert api.http.get("/admin/contacts/unknown-id", headers=auth(aws)).status_code == 404


def test_listing_walks_every_contact_once_with_a_cursor(aws, api):
    rows = "".join(f"p{i}@example.com,P{i}\n" for i in range(23))
    drop_and_import(aws, api, "many.csv", f"email,name\n{rows}".encode())
    seen, cursor = [], None
    while True:
        query = "/admin/contacts?limit=5" + (f"&cursor={cursor}" if cursor else "")
        page = api.http.get(query, headers=auth(aws)).json_body
        assert len(page["contacts"]) <= 5
        seen += [c["email"] for c in page["contacts"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(f"p{i}@example.com" for i in range(23))
    assert api.http.get("/admin/contacts?cursor=garbage", headers=auth(aws)).status_code == 400
    assert api.http.get("/admin/contacts?limit=ten", headers=auth(aws)).status_code == 400


def test_export_holds_everything_about_the_person(aws, api):
    drop_and_import(aws, api, "people.csv", CSV.encode())
    aiko = api.http.get("/admin/contacts?email=aiko@example.com", headers=auth(aws)).json_body
    exported = api.http.get(f"/admin/contacts/{aiko['contact_id']}/export", headers=auth(aws))
    assert exported.status_code == 200
    assert "attachment" in exported.headers["Content-Disposition"]
    body = json.loads(exported.body)
    assert body["contact"] == aiko and body["suppressed"] is False


def test_erase_deletes_the_person_and_keeps_the_address_unmailable(aws, api):
    drop_and_import(aws, api, "people.csv", CSV.encode())
    aiko = api.http.get("/admin/contacts?email=aiko@example.com", headers=auth(aws)).json_body
    erased = api.http.delete(f"/admin/contacts/{aiko['contact_id']}", headers=auth(aws))
    assert erased.status_code == 200 and erased.json_body["suppressed"] is True
    assert api.http.get("/admin/contacts?email=aiko@example.com", headers=auth(aws)).status_code == 404

    suppressions = aws["session"].client("dynamodb").scan(TableName=aws["SuppressionsTable"])["Items"]
    assert len(suppressions) == 1 and "aiko" not in json.dumps(suppressions), "only a hash is kept"

    again = drop_and_import(aws, api, "people-again.csv", CSV.encode())
    assert again["rejected_by_reason"].get("suppressed") == 1
    assert api.http.get("/admin/contacts?email=aiko@example.com", headers=auth(aws)).status_code == 404


def test_a_long_import_checkpoints_and_continues_through_the_queue(aws, api):
    """chalice's test context gives a Lambda 3 s, under the importer's safety margin:
    every run stops after one batch and queues its continuation."""
    rows = "".join(f"u{i}@example.com,U{i},{i % 90}\n" for i in range(1000))
    report = drop_and_import(aws, api, "long.csv", f"email,name,age\n{rows}u5@example.com,again,\n".encode())
    assert report["runs"] >= 10
    assert (report["rows"], report["created"], report["duplicates"]) == (1001, 1000, 1)
    count = aws["session"].client("dynamodb").scan(TableName=aws["ContactsTable"], Select="COUNT")["Count"]
    assert count == 1000


def test_the_report_of_a_long_import_is_readable_while_it_runs(aws, api):
    """One Lambda run (one batch, then a pause): the report already says how far it got."""
    s3, sqs = aws["session"].client("s3"), aws["session"].client("sqs")
    rows = "".join(f"r{i}@example.com,R{i}\n" for i in range(500))
    body = f"email,name\n{rows}".encode()
    s3.put_object(Bucket=aws["Bucket"], Key="imports/running.csv", Body=body)
    (created,) = [b for b in queued_bodies(sqs, aws["ImportQueueUrl"]) if "ObjectCreated" in b]

    def deliver(message: str) -> None:
        api.lambda_.invoke(
            "import_file", api.events.generate_sqs_event(queue_name="q", message_bodies=[message])
        )

    deliver(created)
    running = results(s3, aws["Bucket"], "running.csv")
    assert (running["status"], running["runs"], running["finished_at"]) == ("running", 1, None)
    assert 0 < running["rows"] == running["created"] < 500
    assert 0 < running["bytes_done"] < running["bytes_total"] == len(body)

    while bodies := queued_bodies(sqs, aws["ImportQueueUrl"]):
        for message in bodies:
            deliver(message)
    done = results(s3, aws["Bucket"], "running.csv")
    assert (done["status"], done["created"], done["bytes_done"]) == ("imported", 500, len(body))
    deliver(created)  # S3 delivers the event again
    assert results(s3, aws["Bucket"], "running.csv") == done, "a repeated S3 event leaves the final report"


def test_a_repeated_s3_event_imports_once(aws, api):
    s3, sqs = aws["session"].client("s3"), aws["session"].client("sqs")
    s3.put_object(Bucket=aws["Bucket"], Key="imports/people.csv", Body=CSV.encode())
    (body,) = [b for b in queued_bodies(sqs, aws["ImportQueueUrl"]) if "ObjectCreated" in b]
    for _ in range(2):  # at-least-once delivery
        api.lambda_.invoke(
            "import_file", api.events.generate_sqs_event(queue_name="q", message_bodies=[body])
        )
    report = results(s3, aws["Bucket"], "people.csv")
    assert report["created"] == 2
    imports = aws["session"].client("dynamodb").scan(TableName=aws["ImportsTable"])["Items"]
    assert len(imports) == 1 and imports[0]["status"]["S"] == "done"


def test_a_poison_message_is_parked_with_its_reason_and_a_busy_import_goes_back_to_the_queue(aws, api):
    sqs = aws["session"].client("sqs")
    event = api.events.generate_sqs_event(queue_name="q", message_bodies=["not json"])
    api.lambda_.invoke("import_file", event)  # handled: parked at once, not retried five times
    (parked,) = [json.loads(b) for b in queued_bodies(sqs, aws["ImportDeadLetterQueueUrl"])]
    assert (parked["handler"], parked["payload"]["body"]) == ("work_queue", "not json")
    assert "not JSON" in parked["error"]

    # An import another run holds is not poison: the message fails and the queue retries it.
    s3 = aws["session"].client("s3")
    s3.put_object(Bucket=aws["Bucket"], Key="imports/held.csv", Body=CSV.encode())
    (body,) = [b for b in queued_bodies(sqs, aws["ImportQueueUrl"]) if "ObjectCreated" in b]
    created = work_messages.parse_work_message(body)[0]
    bootstrap.importer().ledger.claim(created.import_id, created.key, clock.now(), 900)  # another run
    with pytest.raises(Exception, match="being imported by another run"):
        api.lambda_.invoke(
            "import_file", api.events.generate_sqs_event(queue_name="q", message_bodies=[body])
        )
    assert queued_bodies(sqs, aws["ImportDeadLetterQueueUrl"]) == []


def test_files_that_are_not_csv_get_a_failed_report_at_once_that_says_what_to_do(aws, api):
    header = drop_and_import(
        aws, api, "huge-header.csv", b"email," + b"x" * 3 * 1024 * 1024 + b"\nhana@example.jp,1\n"
    )
    assert header["status"] == "failed" and "first line" in header["error"]["message"], header
    zeros = drop_and_import(aws, api, "zeros.csv", b"\x00" * 10_000)
    assert zeros["status"] == "failed" and "NUL bytes" in zeros["error"]["message"], zeros
    sqs = aws["session"].client("sqs")
    assert (
        queued_bodies(sqs, aws["ImportDeadLetterQueueUrl"]) == []
        and queued_bodies(sqs, aws["ImportQueueUrl"]) == []
    )


def test_a_page_view_a_stale_cache_links_to_an_erased_person_is_swept_away_later(aws, api, site):
    from chalicelib.domain.queue_messages import sweep_erased
    from chalicelib.store import events
    from tests.aws.test_beacons import send
    from tests.aws.test_identity import pageview
    from tests.aws.test_scoring_segments import identify

    def kept(contact_id: str) -> list[str]:  # the timeline route knows no erased person: the table
        found = (
            aws["session"]
            .client("dynamodb")
            .query(
                TableName=aws["EventsTable"],
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"c#{contact_id}"}},
            )
        )
        return [item.get("path", {}).get("S", "") for item in found["Items"]]

    contact_id = identify(api, site, "device-erase1", "mika@example.com")
    assert api.http.delete(f"/admin/contacts/{contact_id}", headers=auth(aws)).status_code == 200
    # another warm container still holds her link for a few seconds, and records a page view under it
    events._LINK_CACHE[(site["site_id"], "device-erase1")] = (clock.stopwatch(), contact_id)
    assert send(api, pageview(site, "device-erase1", "/after")).status_code == 204
    assert kept(contact_id) == ["/after"]

    # the erasure's second sweep, delivered by the work queue once the caches have let her go
    event = api.events.generate_sqs_event(
        queue_name="sodate-imports", message_bodies=[sweep_erased(contact_id)]
    )
    api.lambda_.invoke("import_file", event)

    assert kept(contact_id) == [], "nothing of hers is kept"
