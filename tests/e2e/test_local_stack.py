"""The real local stack, as `make run` starts it: moto server, CloudFormation,
chalice's local server and the event pump, driven by boto3 and the AWS CLI."""

from __future__ import annotations

import codecs
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.conftest import Stack

ROOT = Path(__file__).resolve().parents[2]


def test_env_file_holds_the_public_contract(stack: Stack) -> None:
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "SODATE_API",
        "SODATE_BUCKET",
        "SODATE_ADMIN_TOKEN",
        "SODATE_SITE_ID",
    ):
        assert stack.env.get(name), name
    assert stack.env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")


def test_a_japanese_excel_csv_dropped_with_the_aws_cli_becomes_contacts(stack: Stack, tmp_path: Path) -> None:
    text = (
        "メールアドレス,氏名,年齢,性別,会社名,最終購入日,メルマガ\r\n"
        'Sato@Example.jp,髙橋 ①～,41,女,"株式会社 髙, 本社",令和6年1月31日,はい\r\n'
        "broken-address,x,,,,,\r\n"
    )
    path = tmp_path / "顧客.csv"
    path.write_bytes(text.encode("cp932"))
    cli = [
        str(Path(sys.executable).with_name("aws")),
        "s3",
        "cp",
        str(path),
        f"s3://{stack.bucket}/imports/kokyaku.csv",
    ]
    subprocess.run(cli, env={**os.environ, **stack.env}, check=True, capture_output=True)

    report = stack.report("kokyaku.csv")
    assert (report["encoding"], report["created"], report["rejected"]) == ("cp932", 1, 1)
    errors = stack.result("results/kokyaku.csv.errors.csv").decode("utf-8-sig")
    assert "invalid_email" in errors and "broken-address" in errors

    status, contact = stack.api("/admin/contacts?email=sato@example.jp")
    assert status == 200
    assert (contact["name"], contact["company"], contact["age"], contact["gender"]) == (
        "髙橋 ①～",
        "株式会社 髙, 本社",
        41,
        "female",
    )
    assert (contact["last_purchase_date"], contact["status"]) == ("2024-01-31", "subscribed")
    assert contact["consent_source"] == "import:kokyaku.csv"
    assert stack.api("/admin/contacts?email=sato@example.jp", token=None)[0] == 401


def test_utf16_tab_separated_with_quoted_newlines(stack: Stack) -> None:
    text = 'Email\tName\tNote\r\nann@example.com\tAnn\t"line one\nline two"\r\n'
    stack.drop("crm.tsv", codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    report = stack.report("crm.tsv")
    assert (report["encoding"], report["delimiter"], report["created"]) == ("utf-16-le", "tab", 1)
    assert stack.api("/admin/contacts?email=ann@example.com")[1]["attrs"] == {"Note": "line one\nline two"}


def test_a_large_file_continues_across_runs_and_reimport_creates_nothing(stack: Stack) -> None:
    rows = "".join(f"bulk{i}@example.com,Bulk {i},{i % 9}\n" for i in range(1000))
    body = f"email,name,purchase_count\n{rows}".encode()
    stack.drop("bulk.csv", body)
    first = stack.report("bulk.csv")
    assert first["runs"] >= 5 and first["created"] == 1000
    stack.s3.delete_object(Bucket=stack.bucket, Key="results/bulk.csv.json")
    stack.drop("bulk.csv", body)
    again = stack.report("bulk.csv")
    assert (again["created"], again["unchanged"]) == (0, 1000)


def test_an_unreadable_file_gets_a_report(stack: Stack) -> None:
    stack.drop("scan.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    report = stack.report("scan.csv")
    assert report["status"] == "failed" and report["error"]["reason"] == "binary_file"


def test_a_poison_message_lands_in_the_dead_letter_queue_with_its_reason(stack: Stack) -> None:
    queue = stack.env["SODATE_IMPORT_QUEUE_URL"]
    stack.sqs.send_message(QueueUrl=queue, MessageBody="this is not an S3 event")
    dlq = stack.env["SODATE_IMPORT_DLQ_URL"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        messages = stack.sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            parked = json.loads(messages[0]["Body"])
            assert parked["payload"]["body"] == "this is not an S3 event"
            assert parked["handler"] == "work_queue" and "not JSON" in parked["error"]
            return
    raise AssertionError("the poison message never reached the DLQ")


def test_a_second_make_run_in_the_same_checkout_says_where_the_first_runs(stack: Stack) -> None:
    assert stack.local_dir is not None
    env_before = (stack.local_dir / "env").read_bytes()
    started = time.monotonic()
    second = subprocess.run(
        [sys.executable, "-m", "devstack.run", "--local-dir", str(stack.local_dir), "--moto-port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SODATE_"))},
    )
    assert second.returncode == 1
    assert "already running" in second.stderr and stack.env["SODATE_API"] in second.stderr
    assert (stack.local_dir / "env").read_bytes() == env_before, ".local/env untouched"
    assert time.monotonic() - started < 30, "refused at once, nothing started"
