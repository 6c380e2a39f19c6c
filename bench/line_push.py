"""LINE pushes through the fleet's send schedule, against the LINE stand-in (its own process, on
loopback, LINE's 2,000 pushes a second per channel), and duplicates under fault injection.

Throughput: `WORKERS` threads send through the real Messenger (ledger claim, cap, render, the
schedule, the HTTP client, the ledger's record) for `SECONDS`; the schedule is the DynamoDB one, in
the local stack's emulator (moto's server, its own process, as DynamoDB is another machine), the
ledger and contacts the in-memory fakes (what is measured is the path to LINE).
Every 429 the stand-in answers is counted, apart for the first second, and so is the most pushes
LINE took in any one second after it, wherever that second falls (the stand-in counts in fixed
windows; a window falling anywhere is the harder test).
Beside it, its floor: the same threads and path with every send granted at once (no limiter), so
the figure says what the limiter costs on this machine (both ends are Python: on a small shared
machine the stand-in itself is near its ceiling at LINE's 2,000 a second).

Faults: every action is sent by two workers at once (a duplicate tick); a third of LINE's answers
are lost after LINE accepted (a timeout: the claim is given back, the retry is answered 409) and
a tenth of the senders die right after LINE accepted (the claim is left; the next tick, a minute
later, takes it over and is answered 409).  Duplicates are deliveries beyond one per retry key,
counted in the stand-in's own records; every action must also be delivered (nothing lost).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chalicelib import clock
from chalicelib.aws.channels import LineClient
from chalicelib.domain.channel_messages import ChannelPlan, parse_line
from chalicelib.domain.channels import ChannelThrottledError
from chalicelib.domain.definitions.mailing import Mailing
from chalicelib.domain.journeys import Action
from chalicelib.domain.send_schedule import busiest_second
from chalicelib.services.mailer import Links, Mailer
from chalicelib.services.messenger import Messenger

LIMIT = 2000.0
SECONDS = 6.0
FLOOR_SECONDS = 3.0
WORKERS = 8
USERS = 50
FAULT_ACTIONS = 300
TOKEN = "bench-token"


class Counted:
    """The LINE client, counting LINE's 429s by the second they came in, and keeping the moment
    each push LINE took was made, after the first second (when the most went in one second)."""

    def __init__(self, line: LineClient, started: float) -> None:
        self.line, self.started = line, started
        self.early = self.late = 0
        self.moments: list[float] = []
        self._lock = threading.Lock()

    def push(self, user_id: str, messages: list[dict[str, Any]], retry_key: str) -> str:
        moment = time.monotonic()
        try:
            answer = self.line.push(user_id, messages, retry_key)
            if moment - self.started >= 1.0:
                with self._lock:
                    self.moments.append(moment)
            return answer
        except ChannelThrottledError as error:
            if "429" in str(error):
                with self._lock:
                    if time.monotonic() - self.started < 1.0:
                        self.early += 1
                    else:
                        self.late += 1
            raise


class Crash(BaseException):
    """The sender's process dies."""


class Faulty:
    """LINE takes every push; then the answer is lost (a third) or the sender dies (a tenth)."""

    def __init__(self, line: LineClient, seed: int = 7) -> None:
        self.line, self.random, self._lock = line, random.Random(seed), threading.Lock()

    def push(self, user_id: str, messages: list[dict[str, Any]], retry_key: str) -> str:
        answer = self.line.push(user_id, messages, retry_key)
        with self._lock:
            roll = self.random.random()
        if roll < 0.1:
            raise Crash()
        if roll < 0.43:
            raise ChannelThrottledError("LINE did not answer: timed out")
        return answer


def _standin(directory: Path) -> tuple[str, subprocess.Popen[str]]:
    code = (
        "import sys, time\nfrom pathlib import Path\nfrom devstack.line_standin import serve\n"
        f"url, stop = serve(0, Path({str(directory)!r}), {TOKEN!r}, 'secret', None, {LIMIT})\n"
        "print(url, flush=True)\nsys.stdin.read()\n"
    )
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout is not None
    return child.stdout.readline().strip(), child


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        found: dict[str, Any] = json.loads(answer.read())
        return found


def _world(line: Any, buckets: Any) -> tuple[Messenger, Any, Any]:
    """A Messenger over the in-memory ledger and contacts; `buckets` None: every send granted."""
    from tests.fakes import MemoryBuckets, MemoryJourneys, MemoryPeople, RecordingSms, RecordingTransport

    journeys, people = MemoryJourneys(), MemoryPeople()
    buckets = buckets or MemoryBuckets(journeys, clock.wall)
    links = Links("https://t.example.jp/api", lambda: "k" * 64)
    mailer = Mailer(RecordingTransport(), journeys, people, "news@example.jp", links, lambda s: None)
    messenger = Messenger(line, RecordingSms(), buckets, journeys, people, mailer, clock.wall, time.sleep)
    return messenger, journeys, people


def _buckets(db: Any) -> Any:
    from chalicelib.store.channel_ledger import ChannelTable

    db.create_table(
        TableName="bench-journeys",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return ChannelTable(db, "bench-journeys", clock.wall, line=LIMIT)  # 93 % of it


def figures(figure: Any, say: Any) -> None:
    import boto3

    from devstack.emulator import Emulator, free_port

    plan = ChannelPlan(("line",), line=parse_line({"text": "{{ name | default('様') }} 新茶"}, "bench"))
    with tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else None) as tmp:
        url, child = _standin(Path(tmp) / "line")
        try:
            users = [str(_post(f"{url}/_standin/follow", {})["userId"]) for _ in range(USERS)]
            emulator = Emulator(free_port(), Path(tmp) / "emulator.log")
            emulator.start()
            try:
                db = boto3.client(
                    "dynamodb",
                    region_name="us-east-1",
                    endpoint_url=emulator.endpoint,
                    aws_access_key_id="bench",
                    aws_secret_access_key="bench",
                )
                _throughput(url, users, plan, None, 1.0)  # warm: threads, connections, both servers
                rate, early, late, busiest = _throughput(url, users, plan, _buckets(db))
                say(
                    f"  line: {rate:,.0f} pushes/s through the fleet's schedule, at most {busiest:,} in"
                    f" any one second after the first; 429s: {early} first second, {late} after"
                )
                figure("line_pushes_per_s_through_limiter", rate, "pushes/s", 0.9 * LIMIT, "higher")
                figure("line_busiest_second_through_limiter", busiest, "pushes", LIMIT, "lower")
                figure("line_429_after_first_second", late, "responses", 0, "lower")
                floor, _, _, _ = _throughput(url, users, plan, None, FLOOR_SECONDS)
                say(f"  line floor: {floor:,.0f} pushes/s with every send granted at once (no limiter)")
                figure("line_pushes_per_s_no_limiter_floor", floor, "pushes/s", None, "higher")
                duplicates, lost = _faults(url, users, plan, Path(tmp) / "line" / "sent")
                say(f"  line under faults: {duplicates} duplicate deliveries, {lost} actions never delivered")
                figure("line_duplicate_deliveries_under_faults", duplicates, "messages", 0, "lower")
                figure("line_actions_lost_under_faults", lost, "actions", 0, "lower")
            finally:
                emulator.stop()
        finally:
            assert child.stdin is not None
            child.stdin.close()
            child.wait(timeout=10)


def _throughput(
    url: str, users: list[str], plan: ChannelPlan, buckets: Any, seconds: float = SECONDS
) -> tuple[float, int, int, int]:
    started = time.monotonic()
    line = Counted(LineClient(url, lambda: TOKEN), started)
    messenger, _, people = _world(line, buckets)
    for n, user in enumerate(users):
        people.add(f"u{n}@example.jp", f"u{n}", attrs={"line_user_id": user, "line_permission": "granted"})
    sent = [0] * WORKERS
    now = datetime.fromtimestamp(clock.now(), UTC)

    def work(w: int) -> None:
        n = 0
        while time.monotonic() - started < seconds:
            n += 1
            who = (w * 7919 + n) % len(users)
            action = Action("send_line", "hi", None, f"u{who}#bench#w{w}n{n}#1", "bench")
            contact = people.by_email(f"u{who}@example.jp")
            try:
                outcome = messenger.send(action, plan, contact, Mailing(), now, "").outcome
                if outcome == "sent" and time.monotonic() - started < seconds:
                    sent[w] += 1  # in the window (not a send that waited for a token past its end)
            except ChannelThrottledError:
                pass  # the step would wait for the next tick

    threads = [threading.Thread(target=work, args=(w,)) for w in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(sent) / seconds, line.early, line.late, busiest_second(line.moments)


def _faults(url: str, users: list[str], plan: ChannelPlan, sent_dir: Path) -> tuple[int, int]:
    before = {p.name for p in sent_dir.glob("*.json")}
    faulty = Faulty(LineClient(url, lambda: TOKEN))
    messenger, journeys, people = _world(faulty, None)  # every send granted: the faults are LINE's
    for n, user in enumerate(users):
        people.add(f"u{n}@example.jp", f"u{n}", attrs={"line_user_id": user, "line_permission": "granted"})
    actions = [
        Action("send_line", "hi", None, f"u{i % len(users)}#faults#s{i}#1", "faults")
        for i in range(FAULT_ACTIONS)
    ]
    now = datetime.fromtimestamp(clock.now(), UTC)

    def tick(at: datetime) -> None:
        def walk(todo: list[Action]) -> None:
            for action in todo:
                contact = people.by_email(f"{action.key.split('#')[0]}@example.jp")
                with contextlib.suppress(Crash, ChannelThrottledError):
                    messenger.send(action, plan, contact, Mailing(), at, "")

        twins = [threading.Thread(target=walk, args=(actions,)) for _ in range(2)]  # a duplicate tick
        for thread in twins:
            thread.start()
        for thread in twins:
            thread.join()

    for minute in range(12):  # ticks a minute apart until every action is sent
        tick(now + timedelta(minutes=minute))
        if all((journeys.action(a.key.split("#")[0], a.key) or {}).get("status") == "sent" for a in actions):
            break
    keys: Counter[str] = Counter()
    for path in sent_dir.glob("*.json"):
        if path.name not in before:
            keys[json.loads(path.read_text())["retryKey"]] += 1
    from chalicelib.domain.channels import retry_key

    wanted = {retry_key(a.key) for a in actions}
    duplicates = sum(n - 1 for key, n in keys.items() if key in wanted)
    return duplicates, len(wanted - set(keys))
