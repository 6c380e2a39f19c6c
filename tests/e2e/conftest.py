"""One real local stack for the end-to-end tests, started as `make run` starts it."""

from __future__ import annotations

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


@pytest.fixture(scope="session")
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
