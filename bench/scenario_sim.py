"""The tick's throughput without the emulator: the real ScenarioRunner, Mailer and Actions over
the in-memory stores, each call made to wait a fixed simulated latency (5 ms, a DynamoDB round
trip in the region with room to spare), SES behind the same latency and a sending rate.

On the local stack every due-index query reads and sorts the whole journeys table in moto's one
process, so its figure is moto's; here the waits are what they are on AWS -- network -- and the
tick's workers overlap them as they would there.  Every call is counted by name, which gives the
calls (and so the cost) per mail.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalicelib.domain.journeys import Journey, Place
from chalicelib.domain.mail.message import MailThrottledError
from chalicelib.services import scenario_runner
from chalicelib.services.definitions import DefinitionsService
from chalicelib.services.mailer import Links, Mailer
from chalicelib.services.sales_alerts import SalesAlerts
from chalicelib.services.scenario_actions import Actions
from chalicelib.services.scenario_runner import ScenarioRunner
from chalicelib.store.dynamo import shard_of
from chalicelib.store.journey_items import SHARDS
from tests.fakes import (
    FakeClock,
    MemoryDefinitionVersions,
    MemoryFiles,
    MemoryPeople,
    RecordingAlerts,
    RecordingPost,
)
from tests.fakes.journeys import MemoryJourneys

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "config"
LATENCY_S = 0.005
ONE_MAIL = """
timezone: UTC
scenarios:
  - name: launch
    entry: {segment: mailable}
    steps:
      - {id: hello, send: thank_you}
      - {id: bye, exit: true}
"""


class ShardedJourneys(MemoryJourneys):
    """The in-memory journeys table, due places listed per shard as the due index lists them."""

    shards = SHARDS

    def due(self, shard: int, now: float, limit: int) -> list[Any]:
        with self._lock:
            found = [
                copy.deepcopy(p)
                for (contact_id, _), p in self.places.items()
                if p.running
                and p.journey.due_at.timestamp() <= now
                and shard_of(contact_id, SHARDS) == str(shard)
            ]
        return found[:limit]  # type: ignore[return-value]


READS = frozenset(
    {"for_sending", "by_emails", "by_id", "due", "mail_times", "places_of", "places_in", "action"}
)


class Waiting:
    """Any store, each call waiting `latency` first (the GIL is free meanwhile, as it is while
    a real client waits on its socket) and counted by name -- calls, and the items they carry
    (a batch of 60 timeline entries is one call and 60 items)."""

    def __init__(self, inner: Any, latency: float, calls: Counter[str], items: Counter[str]) -> None:
        self._inner = inner
        self._latency = latency
        self._calls = calls
        self._items = items
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._inner, name)
        if not callable(found):
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            time.sleep(self._latency)
            batch = args[0] if args and isinstance(args[0], (list, tuple, dict, set)) else None
            with self._lock:
                self._calls[name] += 1
                self._items[name] += 1 if batch is None else len(batch)
            return found(*args, **kwargs)

        return call


class RatedMail:
    """SES: one call waits the latency; over `per_second` in any second it throttles, as SES's
    sending rate does."""

    def __init__(self, latency: float, per_second: float | None) -> None:
        self.sent = 0
        self.to: Counter[str] = Counter()
        self._latency = latency
        self._per_second = per_second
        self._window = (0, 0)  # second, mails in it
        self._lock = threading.Lock()

    def send_raw(self, to: str, raw: bytes) -> str:
        time.sleep(self._latency)
        with self._lock:
            second = int(time.monotonic())
            count = self._window[1] + 1 if self._window[0] == second else 1
            if self._per_second is not None and count > self._per_second:
                raise MailThrottledError("Maximum sending rate exceeded.")
            self._window = (second, count)
            self.sent += 1
            self.to[to] += 1
            return f"ses-{self.sent:06d}"


def mails_per_second(
    people: int, workers: int = scenario_runner.TICK_WORKERS, ses_rate: float | None = None
) -> dict[str, Any]:
    """`people` enter a one-mail scenario at once; ticks (60 s each at most) until all are mailed.
    Answers mails/s, ticks, duplicates, and the store's calls and items (read, written) per mail."""
    clock = FakeClock()
    calls: Counter[str] = Counter()
    items: Counter[str] = Counter()
    store = MemoryPeople()
    journeys = ShardedJourneys()
    definitions = DefinitionsService(MemoryDefinitionVersions(), MemoryFiles(), clock)
    for kind in ("catalogue", "scoring", "segments", "templates"):
        definitions.submit(kind, (EXAMPLES / f"{kind}.yaml").read_bytes(), f"{kind}.yaml")
    definitions.submit("scenarios", ONE_MAIL.encode(), "scenarios.yaml")
    version = definitions.in_force().definitions.journeys.version
    now = datetime_now(clock)
    for n in range(people):
        contact_id = f"c{n:06d}"
        store.add(f"p{n}@example.com", contact_id, status="subscribed", name=f"P{n}")
        journeys.save(
            Place(
                Journey("launch", contact_id, 1, "hello", now),
                f"p{n}@example.com",
                version,
                "active",
                0,
                now.timestamp(),
            )
        )
    slow_journeys: Any = Waiting(journeys, LATENCY_S, calls, items)
    slow_people: Any = Waiting(store, LATENCY_S, calls, items)
    mail = RatedMail(LATENCY_S, ses_rate)
    links = Links("https://t.example.jp/api", lambda: "k" * 64)
    mailer = Mailer(mail, slow_journeys, slow_people, "news@example.jp", links, lambda s: None)
    actions = Actions(
        slow_journeys, slow_people, SalesAlerts(RecordingAlerts()), RecordingPost(), lambda: "w" * 64
    )
    runner = ScenarioRunner(slow_journeys, slow_people, definitions, mailer, actions, clock)
    before = scenario_runner.TICK_WORKERS
    scenario_runner.TICK_WORKERS = workers
    log = logging.getLogger("sodate")
    level = log.level
    log.setLevel(logging.ERROR)  # each throttled shard says so: hundreds of lines under a 14/s rate
    ticks, started = 0, time.perf_counter()
    try:
        while mail.sent < people and ticks < 100:
            runner.tick(_within(60))
            ticks += 1
    finally:
        scenario_runner.TICK_WORKERS = before
        log.setLevel(level)
    seconds = time.perf_counter() - started
    return {
        "mails_per_s": mail.sent / seconds,
        "ticks": ticks,
        "mailed": mail.sent,
        "duplicates": sum(n - 1 for n in mail.to.values()),
        "seconds": seconds,
        "calls_per_mail": sum(calls.values()) / max(mail.sent, 1),
        "read_items_per_mail": sum(n for k, n in items.items() if k in READS) / max(mail.sent, 1),
        "write_items_per_mail": sum(n for k, n in items.items() if k not in READS) / max(mail.sent, 1),
    }


def _within(seconds: float) -> Callable[[], int]:
    """A tick's remaining milliseconds, as Lambda's context gives them."""
    deadline = time.perf_counter() + seconds
    return lambda: int((deadline - time.perf_counter()) * 1000)


def datetime_now(clock: FakeClock) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(clock(), UTC)
