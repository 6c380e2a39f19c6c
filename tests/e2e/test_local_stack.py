"""The real local stack, as `make run` starts it: moto server, CloudFormation,
chalice's local server and the event pump, driven by boto3 and the AWS CLI."""

from __future__ import annotations

import codecs
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]


class Stack:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        session = boto3.session.Session(
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_DEFAULT_REGION"],
        )
        self.s3 = session.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
        self.sqs = session.client("sqs", endpoint_url=env["AWS_ENDPOINT_URL"])
        self.bucket = env["SODATE_BUCKET"]

    def drop(self, name: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=f"imports/{name}", Body=body)

    def result(self, key: str, timeout: float = 60) -> bytes:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            except self.s3.exceptions.NoSuchKey:
                time.sleep(0.2)
        raise AssertionError(f"{key} did not appear within {timeout}s")

    def report(self, name: str) -> dict[str, Any]:
        return json.loads(self.result(f"results/{name}.json"))

    def api(self, path: str, token: str | None = "admin", method: str = "GET") -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.env['SODATE_ADMIN_TOKEN']}"} if token else {}
        request = urllib.request.Request(self.env["SODATE_API"] + path, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    local = tmp_path_factory.mktemp("local")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SODATE_"))}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devstack.run",
            "--local-dir",
            str(local),
            "--moto-port",
            "0",
            "--api-port",
            "0",
            "--rows-per-run",
            "150",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    env_file = local / "env"
    deadline = time.monotonic() + 90
    while not env_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(
                f"make run did not come up:\n{process.stdout.read() if process.stdout else ''}"
            )
        time.sleep(0.2)
    values = dict(
        line.split("=", 1)
        for line in env_file.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    yield Stack(values)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0, "Ctrl-C stops the stack cleanly"


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


def test_a_poison_message_lands_in_the_dead_letter_queue(stack: Stack) -> None:
    queue = stack.env["SODATE_IMPORT_QUEUE_URL"]
    stack.sqs.send_message(QueueUrl=queue, MessageBody="this is not an S3 event")
    dlq = stack.env["SODATE_IMPORT_DLQ_URL"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        messages = stack.sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            assert messages[0]["Body"] == "this is not an S3 event"
            return
    raise AssertionError("the poison message never reached the DLQ")
