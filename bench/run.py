"""`make bench`: the import's figures, one JSON object per line on stdout.

Human-readable progress goes to stderr.  Figures:
- pipeline rows/s: parse + map + validate + serialise, one core, no AWS
- importer rows/s: the whole use case (also merge, dedupe, batching), AWS stubbed
- DynamoDB write calls per 1,000 rows
- peak RSS importing 1M rows (a fresh process, the file streamed from disk)
- end-to-end import on the local stack vs a naive batch_writer() script, same stack, same run
- the worst `matches` search over the adversarial pattern corpus, and its ratio to a literal
- segment rules and full contact evaluations (scores, grade, 20 segments, next check) per second
- `make run` restarted with 10,000 contacts: until the API answers with them (and a fresh start)
- on the local stack: page view -> hot segment + sales alert latency; writes per scored page view;
  a sign-up form sent -> its confirmation mail accepted by SES
- the console: script and style bytes as served; DynamoDB items read to draw the overview with
  10,000 and 100,000 contacts (equal: counters, not scans); time to the first chart in Chromium
  on the local stack with 10,000 contacts
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import (
    console,
    patterns,
    pipeline,
    restart,
    scenarios,
    scoring,
    segments,
    signups,
    stages,
    tracking,
)
from bench.data import customer_lines

ROOT = Path(__file__).resolve().parent.parent


FIGURES = sys.stdout  # kept before main() points sys.stdout at stderr


def figure(name: str, value: float, unit: str, target: float | None, better: str) -> None:
    line = {"name": name, "value": round(value, 2), "unit": unit, "target": target, "better": better}
    print(json.dumps(line), file=FIGURES, flush=True)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def write_csv(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        f.writelines(customer_lines(rows))
    return path


def tracking_figures() -> None:
    say("tracking: tag size, CPU per beacon (best of 3), beacon-path import time...")
    figure("tag_js_gzip_bytes", tracking.tag_gzip_bytes(), "bytes", 1024, "lower")
    tracking.beacon_cpu_us(3000)  # warm up
    runs = [tracking.beacon_cpu_us() for _ in range(3)]
    micros, writes = min(runs)
    figure("beacon_cpu_us", micros, "us", 100, "lower")
    figure("dynamodb_writes_per_page_view", writes, "writes", 2, "lower")
    ratio, bare_ms, beacon_ms = tracking.import_ratio()
    say(f"  import boto3: {bare_ms:.0f} ms; beacon path (app + boto3 client module): {beacon_ms:.0f} ms")
    figure("beacon_import_time_ratio_to_boto3", ratio, "x", 1.15, "lower")


def segment_figures() -> None:
    say("segments: 20 rules per contact, pure, one core (best of 3)...")
    figure(
        "segment_contact_evaluations_per_s",
        max(segments.run() for _ in range(3)),
        "contacts/s",
        20000,
        "higher",
    )
    say("matches: the slowest pattern x 1,000-character value of the adversarial corpus (best of 5)...")
    worst, literal = patterns.worst_search_ms()
    figure("matches_worst_ms_per_1000_chars", worst, "ms", 5, "lower")
    figure("matches_worst_ratio_to_a_literal_search", worst / literal, "x", None, "lower")
    say("evaluation: decayed scores, grade, 20 segments and the next check per contact (best of 3)...")
    figure(
        "contact_evaluations_per_s",
        max(scoring.evaluations_per_s() for _ in range(3)),
        "contacts/s",
        20000,
        "higher",
    )


def scenario_figures() -> None:
    say("scenarios: step evaluations, pure, one core (best of 3)...")
    figure(
        "scenario_step_evaluations_per_s",
        max(scenarios.step_evaluations_per_s() for _ in range(3)),
        "steps/s",
        20000,
        "higher",
    )
    say("scenarios: CPU to render one personalised mail, links tracked, MIME built (best of 3)...")
    figure("mail_render_cpu_us", min(scenarios.render_cpu_us() for _ in range(3)), "us", 200, "lower")


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


def stack_in_own_process(flag: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench.run", flag], cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True
    ).stdout
    FIGURES.write(out)
    FIGURES.flush()


def restart_figures(directory: Path) -> None:
    say(f"make run: a fresh start, then {restart.CONTACTS:,} contacts imported, Ctrl-C, and a restart...")
    found = restart.figures(directory / "restart")
    say(f"  restored {found['items']:,.0f} items in {found['restore_s']:.1f} s")
    figure("local_fresh_start_s", found["fresh_start_s"], "s", None, "lower")
    figure("local_restart_10k_contacts_s", found["restart_s"], "s", 30, "lower")
    figure(
        "local_restart_ratio_to_fresh_start", found["restart_s"] / found["fresh_start_s"], "x", None, "lower"
    )


def console_figures(directory: Path, stack: bool) -> None:
    say("console: script and style as served (gzipped)...")
    figure("console_js_css_gzip_bytes", console.asset_gzip_bytes(), "bytes", 200_000, "lower")
    say("console: DynamoDB items read to draw the 90-day overview, 10,000 and 100,000 contacts...")
    read = console.overview_items_read([10_000, 100_000])
    figure("console_overview_items_read_10k_contacts", read[10_000], "items", None, "lower")
    figure("console_overview_items_read_100k_contacts", read[100_000], "items", read[10_000], "lower")
    figure("console_overview_items_read_ratio_100k_to_10k", read[100_000] / read[10_000], "x", 1, "lower")
    if stack:
        say(
            f"console: make run, {restart.CONTACTS:,} contacts imported, time to the first chart (median of 5)..."
        )
        figure(
            "console_first_chart_ms", console.stack_with_contacts(directory / "console"), "ms", 1000, "lower"
        )


def cpu_figures(path: Path) -> None:
    say("pipeline: parse + map + validate + serialise (best of 3)...")
    rows, seconds = min((stages.run(path) for _ in range(3)), key=lambda r: r[1])
    figure("import_pipeline_rows_per_s", rows / seconds, "rows/s", 50000, "higher")
    say("importer use case with AWS stubbed (best of 3)...")
    runs = [pipeline.run(path) for _ in range(3)]
    rows, seconds, store = min(runs, key=lambda r: r[1])
    figure("importer_rows_per_s", rows / seconds, "rows/s", 50000, "higher")
    figure("dynamodb_write_calls_per_1000_rows", store.write_calls * 1000 / rows, "calls", 40, "lower")


def memory_figure(directory: Path) -> None:
    say("peak RSS for 1M rows (fresh process)...")
    big = write_csv(directory / "million.csv", 1_000_000)
    out = subprocess.run(
        [sys.executable, "-m", "bench.pipeline", str(big)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    figure("import_peak_rss_1m_rows", int(out[1]) / 1024, "MB", 64, "lower")
    big.unlink()


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
        say("page view that makes a known visitor hot -> hot segment and SES alert (5 people)...")
        times = scoring.hot_latency(stack, s3)
        say("  " + ", ".join(f"{t:.2f}s" for t in times))
        figure("hot_page_view_to_segment_and_alert_s_median", scoring.median(times), "s", 5, "lower")
        figure("hot_page_view_to_segment_and_alert_s_max", max(times), "s", 5, "lower")
        say("DynamoDB writes per page view of a known visitor, scoring and segments on...")
        figure(
            "dynamodb_writes_per_scored_page_view", scoring.writes_per_view(stack), "writes", None, "lower"
        )
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


def scoring_stack_in_own_process() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench.run", "--scoring-stack"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    ).stdout
    FIGURES.write(out)
    FIGURES.flush()


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--skip-local-stack", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only-scoring", action="store_true", help="the scoring figures alone")
    parser.add_argument("--scoring-stack", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only-scenarios", action="store_true", help="the scenario figures alone")
    parser.add_argument("--only-restart", action="store_true", help="the local restart figures alone")
    parser.add_argument("--scenario-stack", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only-console", action="store_true", help="the console figures alone")
    args = parser.parse_args()
    sys.stdout = sys.stderr  # whatever else prints (servers, libraries) stays off the figures
    if args.scoring_stack:  # in a process of its own: Chalice's local server starts once per process
        with tempfile.TemporaryDirectory() as tmp:
            scoring_stack_figures(Path(tmp))
        return
    if args.scenario_stack:
        with tempfile.TemporaryDirectory() as tmp:
            scenario_stack_figures(Path(tmp))
        return
    if args.only_restart:
        with tempfile.TemporaryDirectory() as tmp:
            restart_figures(Path(tmp))
        return
    if args.only_console:
        with tempfile.TemporaryDirectory() as tmp:
            console_figures(Path(tmp), stack=not args.skip_local_stack)
        return
    if args.only_scenarios:
        scenario_figures()
        stack_in_own_process("--scenario-stack")
        return
    if args.only_scoring:
        segment_figures()
        scoring_stack_in_own_process()
        return
    tracking_figures()
    segment_figures()
    scenario_figures()
    if args.quick:
        return
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        path = write_csv(directory / "bench.csv", args.rows)
        cpu_figures(path)
        memory_figure(directory)
        if not args.skip_local_stack:
            scoring_stack_in_own_process()
            stack_in_own_process("--scenario-stack")
            local_stack_figures(path, directory, args.rows)
            restart_figures(directory)
        console_figures(directory, stack=not args.skip_local_stack)


if __name__ == "__main__":
    main()
