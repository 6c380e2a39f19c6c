"""Scenario figures.

- pure, one core: step evaluations per second -- people placed at every step
  of the shipped example and of a journey branching on a score and a segment,
  each walked as far as they can go (waits ended, quiet hours and the cap asked);
- pure, one core: CPU per personalised mail -- template, tracked links, open
  pixel, unsubscribe link and the MIME message;
- local stack: 10,000 people entering a scenario at once, mailed by the tick;
  SES calls counted from the emulator (duplicates must be zero).
"""

from __future__ import annotations

import csv
import io
import json
import random
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chalicelib.domain.definitions.compile import Definitions, compile_set
from chalicelib.domain.definitions.source import load
from chalicelib.domain.evaluation import History, facts_for
from chalicelib.domain.journeys import Action, Journey, advance
from chalicelib.domain.scenarios import MailTest
from chalicelib.services.mailer import Links, Mailer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "config"
NOW = datetime(2026, 11, 23, 1, tzinfo=UTC)  # 10:00 in Tokyo: inside the send window
KINDS = ("catalogue", "scoring", "segments", "templates", "scenarios")
BRANCHING = """
  - name: nurture
    entry: {segment: prospects}
    goal: {segment: repeat_buyers}
    steps:
      - {id: hello, send: tips}
      - {id: day, wait: {days: 1}}
      - id: interested
        branch: {if: {score: interest, gte: 30}, then: pitch, else: mailable}
      - id: pitch
        split: {a: 50, b: 50}
      - {id: a, send: upgrade_offer, next: mailable}
      - {id: b, send: coupon, next: mailable}
      - id: mailable
        branch: {if: {all: [{segment: mailable}, {field: attr.rank, in: [gold, platinum]}]}, then: vip, else: end}
      - {id: vip, update: {attrs: {vip_mail: "yes"}}}
      - {id: end, exit: true}
"""


def definitions() -> Definitions:
    texts = {k: (EXAMPLES / f"{k}.yaml").read_text() for k in KINDS}
    texts["scenarios"] += BRANCHING
    return compile_set({k: load(v, f"{k}.yaml") for k, v in texts.items()}, {"scenarios": 1})


def step_evaluations_per_s(count: int = 20_000, seed: int = 3) -> float:
    defs = definitions()
    rng = random.Random(seed)
    scenarios = list(defs.journeys.scenarios.values())
    people = []
    for i in range(count):
        scenario = scenarios[i % len(scenarios)]
        contact = {
            "email": f"u{i}@example.com",
            "contact_id": f"c{i}",
            "status": "subscribed",
            "attrs": {"rank": rng.choice(["gold", "silver", "platinum"])},
            "segments": rng.sample(["mailable", "prospects", "first_time_buyers"], 2),
            "scores": {"interest": {"v": rng.randint(0, 80), "at": NOW.isoformat(), "caps": {}}},
        }
        facts = facts_for(defs, contact, History(), NOW, None)
        facts.segments = frozenset(contact["segments"])
        clicked = {f"c{i}#first_purchase#tips#1"} if rng.random() < 0.3 else set()
        step = rng.choice(list(scenario.steps))
        journey = Journey(scenario.name, f"c{i}", 1, step, NOW - timedelta(days=30), NOW - timedelta(days=30))
        people.append((scenario, journey, facts, clicked))

    def defer(step: Any) -> None:
        return None

    started = time.process_time()
    steps = 0
    for scenario, journey, facts, clicked in people:

        def holds(
            test: Any, facts: Any = facts, clicked: set[str] = clicked, journey: Journey = journey
        ) -> bool:
            if isinstance(test, MailTest):
                return f"{journey.contact_id}#{journey.scenario}#{test.step}#1" in clicked
            return bool(test.predicate(facts))

        before = journey.step
        walk = advance(scenario, journey, NOW, holds, defer=defer)
        steps += 1 + len(walk.actions) + (walk.journey is not None and walk.journey.step != before)
    return steps / (time.process_time() - started)


class _Keys:
    def claim(self, *args: Any) -> bool:
        return True


def render_cpu_us(count: int = 3000) -> float:
    defs = definitions()
    mailer = Mailer(
        None,  # type: ignore[arg-type]  # compose hands nothing to SES and reads no store
        _Keys(),  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        "news@example.jp",
        Links("https://t.example.jp/api", lambda: "k" * 64),
    )
    contact = {
        "email": "hanako@example.jp",
        "contact_id": "c1",
        "name": "山田花子",
        "attrs": {"rank": "gold"},
    }
    actions = [
        Action("send", step, template, f"c{i}#first_purchase#{step}#1")
        for i, (step, template) in enumerate(
            [("thanks", "thank_you"), ("tips", "tips"), ("upgrade", "upgrade_offer"), ("coupon", "coupon")]
            * (count // 4)
        )
    ]
    started = time.process_time()
    for action in actions:
        mailer.compose(action, contact, defs.mailing, NOW)
    return (time.process_time() - started) / len(actions) * 1e6


def bare_jinja_us(count: int = 3000) -> float:
    """The floor: a bare Jinja2 render of the same templates' subject, HTML and text with the same
    person -- no sandbox, no tracked links, no pixel, no unsubscribe link, no MIME."""
    import jinja2
    import yaml

    shipped = yaml.safe_load((EXAMPLES / "templates.yaml").read_text())["templates"]
    env = jinja2.Environment(autoescape=True)
    compiled = {
        t["name"]: [env.from_string(t[part]) for part in ("subject", "html", "text")]
        for t in shipped
        if t["name"] in ("thank_you", "tips", "upgrade_offer", "coupon")
    }
    person = {"email": "hanako@example.jp", "name": "山田花子", "attrs": {"rank": "gold"}}
    order = [compiled[name] for name in ("thank_you", "tips", "upgrade_offer", "coupon")] * (count // 4)
    started = time.process_time()
    for parts in order:
        for template in parts:
            template.render(person)
    return (time.process_time() - started) / len(order) * 1e6


BENCH_SCENARIO = """
scenarios:
  - name: welcome
    entry: {event: bench_welcome}
    steps:
      - {id: hello, send: thank_you}
      - {id: week, wait: {days: 7}}
      - {id: done, exit: true}
"""


def people_entering(env: dict[str, str], people: int = 10_000) -> dict[str, float]:
    """`people` subscribed contacts enter a scenario at once; ticks run until all are mailed.

    Entering goes through `ScenarioRunner.enter`, the code the events stream calls, given the contacts
    the import made: the stream's own lookups are index queries, which the emulator answers by
    reading (and sorting) every item of the table, so 10,000 of them would measure moto."""
    import boto3

    from chalicelib import bootstrap
    from chalicelib.domain.tally import Counts

    session = boto3.session.Session(region_name=env["AWS_DEFAULT_REGION"])
    s3 = session.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
    for kind, text in (
        ("templates", (EXAMPLES / "templates.yaml").read_text()),
        ("scenarios", BENCH_SCENARIO),
    ):
        _admin(env, "PUT", f"/admin/definitions/{kind}", text.encode(), "application/yaml")
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["email", "name", "consent"])
    writer.writerows([f"p{i}@example.com", f"P{i}", "yes"] for i in range(people))
    s3.put_object(Bucket=env["SODATE_BUCKET"], Key="imports/people.csv", Body=rows.getvalue().encode())
    _wait(lambda: _finished(s3, env["SODATE_BUCKET"], "results/people.csv.json"), 600)
    contacts = bootstrap.contact_state().by_emails([f"p{i}@example.com" for i in range(people)])
    engine = bootstrap.runner()
    journeys = bootstrap.definitions().in_force().definitions.journeys
    welcome = journeys.scenarios["welcome"]
    started = time.perf_counter()
    now = engine.now()
    for start in range(0, len(contacts), 100):  # as stream batches of 100 would
        counts = Counts()
        for contact in contacts[start : start + 100]:
            engine.enter(welcome, contact, None, now, journeys.version, counts)
        engine.write(counts)
    entered = time.perf_counter() - started
    ticks, sending = 0, time.perf_counter()
    while ticks < 30:
        deadline = time.monotonic() + 60  # the tick Lambda's timeout
        engine.tick(_budget(deadline))
        ticks += 1
        totals = _admin(env, "GET", "/admin/scenarios")["scenarios"][0]["totals"]
        if totals.get("sent", 0) >= people:  # Sodate's count; SES's own is read below
            break
    sending = time.perf_counter() - sending
    sent, recipients = _sent(env)  # every message, once: are there two for anyone?
    return {
        "entered": len(contacts),
        "entered_s": entered,
        "ticks": ticks,
        "send_s": sending,
        "ses_calls": sent,
        "duplicates": sent - recipients,
        "mailed": recipients,
    }


def _budget(deadline: float) -> Any:
    return lambda: int((deadline - time.monotonic()) * 1000)


def _sent(env: dict[str, str]) -> tuple[int, int]:
    with urllib.request.urlopen(env["AWS_ENDPOINT_URL"] + "/moto-api/data.json", timeout=60) as answer:
        data = json.loads(answer.read())
    messages = [m for m in data.get("ses", {}).get("RawMessage", [])]
    recipients = {d for m in messages for d in (m.get("destinations") or [])}
    return len(messages), len(recipients)


def _admin(env: dict[str, str], method: str, path: str, body: bytes | None = None, kind: str = "") -> Any:
    headers = {
        "Authorization": f"Bearer {env['SODATE_ADMIN_TOKEN']}",
        **({"Content-Type": kind} if kind else {}),
    }
    request = urllib.request.Request(env["SODATE_API"] + path, data=body, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def _finished(s3: Any, bucket: str, key: str) -> bool:
    """The import's report is there and final (a running one is written from the start)."""
    try:
        report = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except Exception:
        return False
    return bool(report.get("status") != "running")


def _wait(check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the local stack did not get there in time")
        time.sleep(0.5)
