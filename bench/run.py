"""`make bench`: Sodate's figures, one JSON object per line on stdout (progress on stderr).

Each speed figure stands beside its floor, measured in the same process on the same input, so a
ratio means the same on any machine:
- the beacon (through API Gateway's event and the beacon function's URL) vs a bare handler that
  parses the same JSON and builds the same two write requests;
- the import pipeline vs `csv.reader` over the same file;
- a contact evaluation vs the same rules through the reference interpreter;
- a personalised mail vs a bare Jinja2 render of the same templates.
Then: peak RSS importing 1M rows; the hot-partition simulation (a large shop's peak through the
real key-building code); the tick's throughput over in-memory stores with 5 ms per call; the
cost per unit (counted calls x bench/aws_prices.json); on the local stack: page view -> sales
alert, sign-up -> confirmation mail, the tag on the wire, and the console.

`--emulator-scale` adds the runs whose time is mostly the emulator's (10,000 people mailed by
the tick on moto, 200,000 rows imported beside a naive script, `make run` restarted with 10,000
contacts); `--quick` stops after the CPU figures.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench import (
    console,
    costs,
    line_push,
    partitions,
    patterns,
    pipeline,
    scenario_sim,
    scenarios,
    scoring,
    stack_figures,
    stages,
    tracking,
)
from bench.data import customer_lines
from bench.report import SEEN, figure, logs_to_stderr, passed_on, ratio, say

ROOT = Path(__file__).resolve().parent.parent


def write_csv(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        f.writelines(customer_lines(rows))
    return path


def best(runs: int, measure: Callable[[], float]) -> float:
    """The lowest of `runs` measures (the machine's noise only ever adds)."""
    return min(measure() for _ in range(runs))


def tracking_figures() -> None:
    say("tracking: the tag, CPU per beacon through both doors and the bare floor (best of 3, interleaved)...")
    figure("tag_js_gzip_bytes", tracking.tag_gzip_bytes(), "bytes", 1024, "lower")
    figure("tag_js_bytes_via_function_url", tracking.tag_bytes_via_url(), "bytes", 1024, "lower")
    tracking.beacon_cpu_us(3000)  # warm up
    rest, url, floor = [], [], []
    for _ in range(3):
        rest.append(tracking.beacon_cpu_us())
        url.append(tracking.beacon_cpu_us(door="url"))
        floor.append((tracking.bare_floor_us(),))
    (rest_us, writes, reads), (url_us, *_), (floor_us,) = min(rest), min(url), min(floor)
    figure("beacon_cpu_us", rest_us, "us", 100, "lower")
    figure("beacon_cpu_us_function_url", url_us, "us", 100, "lower")
    figure("beacon_bare_floor_cpu_us", floor_us, "us", None, "lower")
    ratio("beacon_ratio_to_bare_floor", rest_us, floor_us, 2)
    ratio("beacon_function_url_ratio_to_bare_floor", url_us, floor_us, 2)
    figure("dynamodb_writes_per_page_view", writes, "writes", 2, "lower")
    figure("dynamodb_reads_per_page_view", reads, "reads", None, "lower")
    import_ratio, bare_ms, beacon_ms = tracking.import_ratio()
    say(f"  import boto3: {bare_ms:.0f} ms; beacon path (app + boto3 client module): {beacon_ms:.0f} ms")
    figure("beacon_import_time_ratio_to_boto3", import_ratio, "x", 1.15, "lower")


def evaluation_figures() -> None:
    scoring.figures(figure, say)
    say("matches: the slowest pattern x 1,000-character value of the adversarial corpus (best of 5)...")
    worst, literal = patterns.worst_search_ms()
    figure("matches_worst_ms_per_1000_chars", worst, "ms", 5, "lower")
    ratio("matches_worst_ratio_to_a_literal_search", worst, literal, None)


def scenario_figures() -> None:
    say("scenarios: step evaluations, pure, one core (best of 3)...")
    steps = max(scenarios.step_evaluations_per_s() for _ in range(3))
    figure("scenario_step_evaluations_per_s", steps, "steps/s", 20000, "higher")
    say(
        "scenarios: one personalised mail (links tracked, MIME) vs bare Jinja2, same templates (best of 3)..."
    )
    mail_us = best(3, scenarios.render_cpu_us)
    figure("mail_render_cpu_us", mail_us, "us", 200, "lower")
    ratio("mail_render_ratio_to_bare_jinja2", mail_us, best(3, scenarios.bare_jinja_us), None)


def scenario_sim_figures() -> None:
    say("the tick over in-memory stores, 5 ms a call: 10,000 people, one mail each...")
    found = scenario_sim.mails_per_second(10_000)
    say(
        f"  {found['mailed']:,} mailed in {found['seconds']:.1f} s, {found['calls_per_mail']:.2f} calls a mail"
    )
    figure("tick_mails_per_s_5ms_stores", found["mails_per_s"], "mails/s", 100, "higher")
    figure("tick_ticks_for_10k_people_5ms_stores", found["ticks"], "ticks", 2, "lower")
    figure("tick_duplicate_mails_5ms_stores", found["duplicates"], "mails", 0, "lower")
    SEEN["mail_write_items"], SEEN["mail_read_items"] = (
        found["write_items_per_mail"],
        found["read_items_per_mail"],
    )
    for workers in (1, 2, 4, 16):
        scaled = scenario_sim.mails_per_second(1000, workers=workers)
        figure(
            f"tick_mails_per_s_5ms_stores_{workers}_workers", scaled["mails_per_s"], "mails/s", None, "higher"
        )
    say(
        "the same tick under SES's default sending rate for a new account (14 mails/s): throttled, backs off..."
    )
    capped = scenario_sim.mails_per_second(300, ses_rate=14)
    figure("tick_mails_per_s_at_ses_14_per_s", capped["mails_per_s"], "mails/s", 14, "higher")
    figure("tick_duplicate_mails_at_ses_14_per_s", capped["duplicates"], "mails", 0, "lower")


def cost_figures() -> None:
    say(
        f"cost per unit: counted calls x {costs.PRICES.name} ({costs.prices()['region']}, {costs.prices()['as_of']})..."
    )
    views = costs.page_views(
        1e6,
        SEEN["beacon_cpu_us_function_url"],
        SEEN["dynamodb_writes_per_page_view"],
        SEEN["dynamodb_reads_per_page_view"],
    )
    say("  page views: " + ", ".join(f"{k} ${v:.3f}" for k, v in views.items()))
    figure("cost_usd_per_million_page_views", views["total"], "USD", 2.0, "lower")
    rest = costs.page_views(
        1e6,
        SEEN["beacon_cpu_us"],
        SEEN["dynamodb_writes_per_page_view"],
        SEEN["dynamodb_reads_per_page_view"],
        "rest",
    )
    figure("cost_usd_per_million_page_views_through_api_gateway_rest", rest["total"], "USD", None, "lower")
    if "import_write_units_per_row" in SEEN:
        rows = costs.imports(
            1e6,
            1 / SEEN["importer_rows_per_s"],
            SEEN["import_write_units_per_row"],
            SEEN["import_read_keys_per_row"],
            SEEN["dynamodb_write_calls_per_1000_rows"] / 1000 + SEEN["import_read_keys_per_row"] / 100,
            SEEN["import_index_entries_per_row"],
            SEEN["import_gauge_writes_per_row"],
        )
        say("  imports: " + ", ".join(f"{k} ${v:.3f}" for k, v in rows.items()))
        figure("cost_usd_per_million_imported_rows", rows["total"], "USD", 0.70, "lower")
    if "mail_write_items" in SEEN:
        sent = costs.mails(
            1e5, 1 / SEEN["tick_mails_per_s_5ms_stores"], SEEN["mail_write_items"], SEEN["mail_read_items"]
        )
        say("  mails: " + ", ".join(f"{k} ${v:.3f}" for k, v in sent.items()))
        figure("cost_usd_per_100k_mails", sent["total"], "USD", 11, "lower")


def import_figures(path: Path) -> None:
    stages.figures(figure, say, path)
    rows, _, store = pipeline.run(path, priced=True)
    SEEN["import_write_units_per_row"] = store.write_units / rows
    SEEN["import_read_keys_per_row"] = store.read_keys / rows
    SEEN["import_index_entries_per_row"] = store.index_entries / rows
    SEEN["import_gauge_writes_per_row"] = store.gauge_writes / rows
    say(
        f"  per row: {store.write_units / rows:.2f} write units (contact, consent ledger), "
        f"{store.read_keys / rows:.2f} keys read, then {store.index_entries / rows:.2f} people-index entries"
    )


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


def console_figures(directory: Path, stack: bool) -> None:
    say("console: script and style as served (gzipped)...")
    figure("console_js_css_gzip_bytes", console.asset_gzip_bytes(), "bytes", 200_000, "lower")
    say("console: DynamoDB items read to draw the 90-day overview, 10,000 and 100,000 contacts...")
    read = console.overview_items_read([10_000, 100_000])
    figure("console_overview_items_read_10k_contacts", read[10_000], "items", None, "lower")
    figure("console_overview_items_read_100k_contacts", read[100_000], "items", read[10_000], "lower")
    figure("console_overview_items_read_ratio_100k_to_10k", read[100_000] / read[10_000], "x", 1, "lower")
    if stack:
        say("console: make run, 10,000 contacts imported, time to the first chart (median of 5)...")
        figure(
            "console_first_chart_ms", console.stack_with_contacts(directory / "console"), "ms", 1000, "lower"
        )


def in_own_process(flag: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench.run", flag], cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True
    ).stdout
    passed_on(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="the CPU figures only (about a minute)")
    parser.add_argument("--skip-local-stack", action="store_true")
    parser.add_argument("--emulator-scale", action="store_true", help="also the emulator-bound runs (long)")
    parser.add_argument("--only-console", action="store_true", help="the console figures alone")
    for hidden in ("--scoring-stack", "--scenario-stack", "--import-stack", "--restart-stack", "--line"):
        parser.add_argument(hidden, action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.stdout = sys.stderr  # whatever else prints (servers, libraries) stays off the figures
    logs_to_stderr()
    children = {
        "scoring_stack": stack_figures.scoring_stack_figures,
        "scenario_stack": stack_figures.scenario_stack_figures,
        "restart_stack": stack_figures.restart_figures,
    }
    for flag, run in children.items():
        if getattr(args, flag):
            with tempfile.TemporaryDirectory() as tmp:
                run(Path(tmp))
            return
    if args.line:  # its own process: the pushing threads and moto share no interpreter with the rest
        line_push.figures(figure, say)
        return
    if args.import_stack:
        with tempfile.TemporaryDirectory() as tmp:
            path = write_csv(Path(tmp) / "bench.csv", args.rows)
            stack_figures.local_stack_figures(path, Path(tmp), args.rows)
        return
    if args.only_console:
        with tempfile.TemporaryDirectory() as tmp:
            console_figures(Path(tmp), stack=not args.skip_local_stack)
        return
    tracking_figures()
    evaluation_figures()
    scenario_figures()
    if args.quick:
        return
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        import_figures(write_csv(directory / "bench.csv", args.rows))
        memory_figure(directory)
        partitions.figures(figure, say)
        scenario_sim_figures()
        say("line: pushes through the fleet's bucket against the LINE stand-in, then faults (~12 s)...")
        in_own_process("--line")
        cost_figures()
        if not args.skip_local_stack:
            in_own_process("--scoring-stack")
        console_figures(directory, stack=not args.skip_local_stack)
        if args.emulator_scale:
            in_own_process("--scenario-stack")
            in_own_process("--import-stack")
            in_own_process("--restart-stack")


if __name__ == "__main__":
    main()
