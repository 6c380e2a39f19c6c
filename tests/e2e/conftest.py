"""One real local stack for the end-to-end tests, started as `make run` starts it."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from devstack import child

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
        self.cognito = session.client("cognito-idp", endpoint_url=env["AWS_ENDPOINT_URL"])
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


def launch(local: Path, *extra: str) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """`make run` in a process of its own, with its data under `local`, and its settings."""
    process = child.launch(local, *extra)
    return process, child.settings(local)


def stop(process: subprocess.Popen[bytes], local: Path) -> str:
    """Ctrl-C, as a person presses it in the terminal; returns what the stack printed."""
    assert child.stop(process) == 0, f"Ctrl-C stops the stack cleanly:\n{child.printed(local)}"
    return child.printed(local)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    local = tmp_path_factory.mktemp("local")
    process, values = launch(local, "--rows-per-run", "150")
    yield Stack(values, local)
    stop(process, local)


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
    driver.profile_dir = profile  # type: ignore[attr-defined]
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


@pytest.fixture
def moved_clock(stack: Stack) -> Iterator[Callable[[float], Any]]:
    """Sodate's clock at the next 10:00 in Tokyo (the examples mail 08:00-21:00 there), moved on
    by `days` when called; put back after."""

    def advance(seconds: float) -> Any:
        status, answer = stack.api("/admin/clock", method="POST", body={"advance_seconds": seconds})
        assert status == 200, answer
        return answer

    now = datetime.fromtimestamp(advance(1)["now"], ZoneInfo("Asia/Tokyo"))
    ten = now.replace(hour=10, minute=0, second=0, microsecond=0)
    ten += timedelta(days=1) if ten <= now else timedelta(0)
    advance((ten - now).total_seconds())
    yield lambda days: advance(days * 86400)
    stack.api("/admin/clock", method="POST", body={"reset": True})


def ready(browser: Any, state: str) -> bool:
    """The console's page says it is drawn (<body data-ready=...>)."""
    return bool(browser.find_elements(By.CSS_SELECTOR, f"body[data-ready='{state}']"))


def open_listed(browser: Any, listed: str, link: str, opened: str) -> None:
    """On a console list (drawn as `listed`), open the entry `link` and wait for it (`opened`)."""
    assert wait_for(lambda: ready(browser, listed))
    browser.find_element(By.LINK_TEXT, link).click()
    assert wait_for(lambda: ready(browser, opened))


def text_of(browser: Any, selector: str) -> str:
    """An element's text, read in one step (the console redraws and reloads pages under it)."""
    return str(
        browser.execute_script("return document.querySelector(arguments[0])?.textContent || ''", selector)
    )
