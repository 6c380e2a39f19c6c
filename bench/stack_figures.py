"""The figures that need the local stack (`make run`'s emulator and API), each run in a process
of its own by bench/run.py: Chalice's local server starts once per process."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench import restart, scenarios, scoring, signups
from bench.report import figure, say


def scenario_stack_figures(directory: Path) -> None:
    from devstack.run import start

    say("starting the local stack (templates and a welcome scenario only)...")
    running = start(directory / "scenarios", 0, 0, sweep_seconds=3600, examples=False)
    try:
        people = int(os.environ.get("SODATE_BENCH_SCENARIO_PEOPLE", "10000"))
        say(f"{people:,} people enter a scenario at once; ticks (60 s Lambdas) until all are mailed...")
        found = scenarios.people_entering(running.env, people)
        say("  " + ", ".join(f"{k} {v:g}" for k, v in found.items()))
        figure("scenario_stack_people", people, "people", 10000, "higher")
        figure("scenario_stack_ticks_to_mail_everyone", found["ticks"], "ticks", 3, "lower")
        figure("scenario_stack_send_seconds", found["send_s"], "s", None, "lower")
        figure("scenario_stack_ses_calls", found["ses_calls"], "calls", people, "lower")
        figure("scenario_stack_duplicate_mails", found["duplicates"], "mails", 0, "lower")
    finally:
        running.stop()


def restart_figures(directory: Path) -> None:
    say(f"make run: a fresh start, then {restart.CONTACTS:,} contacts imported, Ctrl-C, and a restart...")
    found = restart.figures(directory / "restart")
    say(f"  restored {found['items']:,.0f} items in {found['restore_s']:.1f} s")
    figure("local_fresh_start_s", found["fresh_start_s"], "s", None, "lower")
    figure("local_restart_10k_contacts_s", found["restart_s"], "s", 30, "lower")
    figure(
        "local_restart_ratio_to_fresh_start", found["restart_s"] / found["fresh_start_s"], "x", None, "lower"
    )


def local_stack_figures(path: Path, directory: Path, rows: int) -> None:
    import boto3

    from bench.naive import create_table, naive_import
    from devstack.run import start

    say("starting the local stack (no definitions: the import alone is measured)...")
    running = start(directory / "local", 0, 0, examples=False)
    try:
        env = running.env
        session = boto3.session.Session(region_name=env["AWS_DEFAULT_REGION"])
        s3 = session.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
        say(f"end-to-end import of {rows} rows through S3, SQS, the importer and DynamoDB...")
        started = time.perf_counter()
        s3.upload_file(str(path), env["SODATE_BUCKET"], "imports/bench.csv")
        report = _wait_for_report(s3, env["SODATE_BUCKET"], "results/bench.csv.json")
        ours = time.perf_counter() - started
        say(f"  {report['created']} created, {report['rejected']} rejected in {ours:.1f}s")
        figure("local_stack_import_seconds", ours, "s", None, "lower")
        say("naive batch_writer() script on the same stack...")
        dynamodb = session.resource("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL"])
        table = create_table(dynamodb, "naive-bench", like=env["SODATE_CONTACTS_TABLE"])
        naive_rows, naive = naive_import(table, path)
        figure("local_stack_naive_batch_writer_seconds", naive, "s", None, "lower")
        say(f"  naive: {naive_rows} rows in {naive:.1f}s (no validation, no merge, no report)")
    finally:
        running.stop()


def scoring_stack_figures(directory: Path) -> None:
    import boto3

    from devstack.run import start

    say("starting the local stack with the example definitions...")
    running = start(directory / "scoring", 0, 0)
    try:
        env = running.env
        s3 = boto3.session.Session(region_name=env["AWS_DEFAULT_REGION"]).client(
            "s3", endpoint_url=env["AWS_ENDPOINT_URL"]
        )
        stack = scoring.Stack(env)
        say("page view that makes a known visitor hot -> hot segment and SES alert (20 people)...")
        times = scoring.hot_latency(stack, s3, people_count=20)
        say("  " + ", ".join(f"{t:.2f}s" for t in times))
        figure("hot_page_view_to_segment_and_alert_s_median", scoring.median(times), "s", 1, "lower")
        figure("hot_page_view_to_segment_and_alert_s_max", max(times), "s", 2, "lower")
        say("DynamoDB writes per page view of a known visitor, scoring and segments on...")
        figure(
            "dynamodb_writes_per_scored_page_view", scoring.writes_per_view(stack), "writes", None, "lower"
        )
        tag_on_the_wire(env)
        say("a sign-up form sent -> its confirmation mail accepted by SES (10 people)...")
        ses = boto3.session.Session(region_name=env["AWS_DEFAULT_REGION"]).client(
            "ses", endpoint_url=env["AWS_ENDPOINT_URL"]
        )
        times = signups.confirmation_latency(env, ses)
        say("  " + ", ".join(f"{t:.2f}s" for t in times))
        figure("signup_to_confirmation_mail_s_median", scoring.median(times), "s", 5, "lower")
        figure("signup_to_confirmation_mail_s_max", max(times), "s", 5, "lower")
    finally:
        running.stop()


def _wait_for_report(s3: Any, bucket: str, key: str, timeout: float = 1800) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            report: dict[str, Any] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            if report["status"] != "running":  # the report is there, running, from the start
                return report
        except s3.exceptions.NoSuchKey:
            pass
        time.sleep(0.5)
    raise TimeoutError(key)


def tag_on_the_wire(env: dict[str, str]) -> None:
    """The tag as a browser receives it from the local API: gzipped, and a 304 once cached."""
    say("the tag as it travels from the local stack (a browser's Accept-Encoding)...")
    asked = urllib.request.Request(
        f"{env['SODATE_API']}/tag.js", headers={"Accept-Encoding": "gzip, deflate, br"}
    )
    with urllib.request.urlopen(asked, timeout=10) as answer:
        body, headers = answer.read(), answer.headers
    say(
        f"  {len(body)} B body ({headers.get('Content-Encoding')}), {len(str(headers))} B of headers, {headers.get('Cache-Control')}"
    )
    figure("tag_js_bytes_on_the_wire_local_stack", len(body), "bytes", 1024, "lower")
    again = urllib.request.Request(
        asked.full_url, headers={"If-None-Match": headers.get("ETag", ""), "Accept-Encoding": "gzip"}
    )
    try:
        urllib.request.urlopen(again, timeout=10)
        figure("tag_js_revalidated_bytes_local_stack", len(body), "bytes", 0, "lower")
    except urllib.error.HTTPError as error:  # 304 Not Modified: urllib raises on it
        figure(
            "tag_js_revalidated_bytes_local_stack",
            len(error.read()) if error.code == 304 else len(body),
            "bytes",
            0,
            "lower",
        )
