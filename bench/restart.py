"""Restart of `make run` with 10,000 contacts: how long until the API answers with all of them.

Runs the real `python -m devstack.run` (what `make run` runs) in processes of its own: a fresh
start is the floor, measured in the same run; then 10,000 contacts are imported, the stack is
stopped with Ctrl-C (which saves), started again, and timed until the settings are written
and every sampled contact -- the first, the last and 50 in between -- answers."""

from __future__ import annotations

import json
import random
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import boto3

from bench.data import customer_lines
from devstack import child

CONTACTS = 10_000


def launch(local: Path, *extra: str) -> tuple[subprocess.Popen[bytes], dict[str, str], float]:
    started = time.perf_counter()
    process = child.launch(local, "--save-every", "0", *extra, timeout=300)
    return process, child.settings(local), started


def stop(process: subprocess.Popen[bytes], local: Path) -> str:
    if child.stop(process) != 0:
        raise RuntimeError(f"make run did not stop cleanly:\n{child.printed(local)}")
    return child.printed(local)


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
        stop(process, local)
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
        printed = stop(process, local)
    found = re.search(r"restored: ([\d,]+) items.* in ([\d.]+) s", printed)
    return {
        "fresh_start_s": fresh,
        "restart_s": restart,
        "restore_s": float(found.group(2)) if found else float("nan"),
        "items": float(found.group(1).replace(",", "")) if found else float("nan"),
    }
