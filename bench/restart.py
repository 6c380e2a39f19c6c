"""Restart of `make run` with 10,000 contacts: how long until the API answers with all of them.

Runs the real `python -m devstack.run` (what `make run` runs) in processes of its own: a fresh
start is the floor, measured in the same run; then 10,000 contacts are imported, the stack is
stopped with Ctrl-C (which saves), started again, and timed until the settings are written
and every sampled contact -- the first, the last and 50 in between -- answers."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import boto3

from bench.data import customer_lines

ROOT = Path(__file__).resolve().parent.parent
CONTACTS = 10_000
PORTS = ("--moto-port", "0", "--api-port", "0", "--save-every", "0")


def launch(local: Path, *extra: str) -> tuple[subprocess.Popen[str], dict[str, str], float]:
    env_file = local / "env"
    env_file.unlink(missing_ok=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SODATE_"))}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.run", "--local-dir", str(local), *PORTS, *extra],
        cwd=ROOT,
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    while not env_file.exists():
        if process.poll() is not None or time.perf_counter() - started > 300:
            process.kill()
            raise RuntimeError("make run did not come up")
        time.sleep(0.05)
    return process, _settings(local), started


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    if process.wait(timeout=120) != 0:
        raise RuntimeError("make run did not stop cleanly")
    return process.stdout.read() if process.stdout else ""


def answers(env: dict[str, str], email: str) -> bool:
    request = urllib.request.Request(
        f"{env['SODATE_API']}/admin/contacts?email={urllib.parse.quote(email)}",
        headers={"Authorization": f"Bearer {env['SODATE_ADMIN_TOKEN']}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def load(env: dict[str, str]) -> list[str]:
    """10,000 contacts imported through the bucket; the emails of the rows that were accepted."""
    lines = list(customer_lines(CONTACTS + CONTACTS // 199 + 1))
    emails = [line.split(",", 1)[0] for line in lines[1:] if "@" in line.split(",", 1)[0]][:CONTACTS]
    body = lines[0] + "".join(line for line in lines[1:] if line.split(",", 1)[0] in set(emails))
    s3 = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    ).client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
    s3.put_object(Bucket=env["SODATE_BUCKET"], Key="imports/restart.csv", Body=body.encode())
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            report: dict[str, Any] = json.loads(
                s3.get_object(Bucket=env["SODATE_BUCKET"], Key="results/restart.csv.json")["Body"].read()
            )
        except s3.exceptions.NoSuchKey:
            report = {}
        if report.get("status") not in (None, "running"):
            if report.get("created") != CONTACTS:
                raise RuntimeError(f"the import made {report.get('created')} contacts: {report}")
            return [email.lower() for email in emails]
        time.sleep(0.5)
    raise RuntimeError("the import did not finish")


def figures(local: Path) -> dict[str, float]:
    process, env, started = launch(local, "--reset")
    fresh = time.perf_counter() - started
    try:
        emails = load(env)
    finally:
        stop(process)
    sample = [emails[0], emails[-1], *random.Random(3).sample(emails, 50)]
    process, env, started = launch(local)
    try:
        waiting = list(sample)
        while waiting:
            waiting = [email for email in waiting if not answers(env, email)]
            if time.perf_counter() - started > 300:
                raise RuntimeError(f"{len(waiting)} contacts never answered after the restart")
        restart = time.perf_counter() - started
    finally:
        printed = stop(process)
    found = re.search(r"restored: ([\d,]+) items.* in ([\d.]+) s", printed)
    return {
        "fresh_start_s": fresh,
        "restart_s": restart,
        "restore_s": float(found.group(2)) if found else float("nan"),
        "items": float(found.group(1).replace(",", "")) if found else float("nan"),
    }


def _settings(local: Path) -> dict[str, str]:
    lines = (local / "env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
