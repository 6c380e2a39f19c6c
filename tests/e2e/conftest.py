"""One real local stack for the end-to-end tests, started as `make run` starts it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parents[2]


class Stack:
    def __init__(self, env: dict[str, str], local_dir: Path | None = None) -> None:
        self.env = env
        self.local_dir = local_dir
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

    def report(self, name: str, timeout: float = 60) -> dict[str, Any]:
        """The import's final report: a running one is there from the start, so wait past it."""
        deadline = time.monotonic() + timeout
        while True:
            report: dict[str, Any] = json.loads(self.result(f"results/{name}.json", timeout))
            if report["status"] != "running":
                return report
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} was still running after {timeout}s: {report}")
            time.sleep(0.2)

    def api(
        self, path: str, token: str | None = "admin", method: str = "GET", body: Any = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.env['SODATE_ADMIN_TOKEN']}"} if token else {}
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.env["SODATE_API"] + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


PORTS = ("--moto-port", "0", "--api-port", "0")


def launch(local: Path, *extra: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """`make run` in a process of its own, on free ports, with its data under `local`; returns
    once it has written its settings (after a restore, if there was one)."""
    env_file = local / "env"
    env_file.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SODATE_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.run", "--local-dir", str(local), *PORTS, *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
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
    return process, values


def stop(process: subprocess.Popen[str]) -> str:
    """Ctrl-C, as a person stops it; returns what it printed."""
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0, "Ctrl-C stops the stack cleanly"
    return process.stdout.read() if process.stdout else ""


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    local = tmp_path_factory.mktemp("local")
    process, values = launch(local, "--rows-per-run", "150")
    yield Stack(values, local)
    stop(process)


# Headless Chromium says "HeadlessChrome", which Sodate rightly files as a bot;
# this browser plays a person, so it presents an ordinary Chrome user agent.
PERSON = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


def chromium(user_agent: str | None, prefs: dict[str, Any] | None = None) -> Any:
    profile = tempfile.mkdtemp(prefix="sodate-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    if user_agent:
        options.add_argument(f"--user-agent={user_agent}")
    if prefs:
        options.add_experimental_option("prefs", prefs)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    driver.profile_dir = profile
    return driver


@pytest.fixture
def browser() -> Iterator[Any]:
    driver = chromium(PERSON)
    yield driver
    driver.quit()
    shutil.rmtree(driver.profile_dir, ignore_errors=True)


def wait_for(check: Any, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the hits")
