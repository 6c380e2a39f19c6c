"""Hot partitions: a synthetic peak of a large shop replayed through the real key-building code.

DynamoDB serves at most 1,000 write units a second on one partition key (and on one key of a
global index); past that it throttles, whatever the table's on-demand capacity.  Every store
class here is the production one, called as the services call it, over a recording client that
notes, for each write, the table, the partition key (and the `by_due` index key) and the
simulated second -- so the figures move as soon as a key layout changes.

Scenarios (one Lambda container serves one request at a time, so containers = rate x duration):
- page views: 5,000 a second over 1M visitors, Zipf pages (the top one 20 % of traffic), 20 %
  known people, 30 % without an identifier (no consent, GPC); the events stream's consequences
  (the console's per-day series) in batches of 100;
- attack: 50,000 rejected hits a second on one site (foreign origins and pages);
- send: 100,000 people entering a scenario, mailed at the SES rate, then SES's deliveries and
  opens counted;
- contacts: an import of new contacts at 10,000 a second, the contacts stream moving the
  console's gauges and people index.
A transactional write costs two units, so it counts two.  `python -m bench.partitions` prints all.
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import accumulate
from types import SimpleNamespace
from typing import Any, ClassVar

from chalicelib import clock
from chalicelib.domain.figures import Fact
from chalicelib.domain.journeys import Journey, Place
from chalicelib.domain.tally import Counts
from chalicelib.services.beacons import Beacons
from chalicelib.services.figures import Figures
from chalicelib.store.contact_state import ContactState
from chalicelib.store.events import EventStore
from chalicelib.store.figures import FigureBook
from chalicelib.store.journeys import JourneyStore
from chalicelib.store.people_index import PeopleIndexTable

LIMIT = 1000  # write units a second on one partition key
TARGET = 500  # half of it: room for a bigger day
DAY = datetime(2026, 11, 23, 3, tzinfo=UTC)  # noon in Tokyo, a Monday of the sale
SITE = "s_shop"
HOST = "shop.example.jp"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0"


class _Refused(Exception):
    response: ClassVar[dict[str, Any]] = {"CancellationReasons": []}


class Recorder:
    """A DynamoDB client that succeeds at everything and counts each write under its
    (table, partition key, second); reads find the shop's site and the known visitors' links."""

    exceptions = SimpleNamespace(
        ConditionalCheckFailedException=_Refused, TransactionCanceledException=_Refused
    )

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self.units: Counter[tuple[str, str, int]] = Counter()
        self.known: dict[str, str] = {}  # l#<site>#<visitor> -> contact id
        self.put_hits: list[tuple[float, str]] = []  # (when, pk) of each hit, for the events stream

    def _count(
        self, table: str, key: dict[str, Any], units: int = 1, item: dict[str, Any] | None = None
    ) -> None:
        second = int(self._now())
        pk = key["pk"]["S"] if "pk" in key else next(iter(key.values()))["S"]
        self.units[(table, pk, second)] += units
        if item and "due_shard" in item:  # the sparse by_due index is written as well
            self.units[(f"{table}/by_due", item["due_shard"]["S"], second)] += units

    def put_item(self, TableName: str, Item: dict[str, Any], **_: Any) -> dict[str, Any]:
        self._count(TableName, Item, item=Item)
        if "kind" in Item and Item["pk"]["S"][:2] in ("c#", "v#", "a#"):
            self.put_hits.append((self._now(), Item["pk"]["S"]))
        return {}

    def update_item(self, TableName: str, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        self._count(TableName, Key)
        return {}

    def delete_item(self, TableName: str, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        self._count(TableName, Key)
        return {}

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        for table, requests in RequestItems.items():
            for request in requests:
                put = request.get("PutRequest")
                self._count(table, put["Item"] if put else request["DeleteRequest"]["Key"])
        return {}

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        for action in TransactItems:
            (change,) = action.values()
            self._count(change["TableName"], change.get("Key") or change["Item"], units=2)
        return {}

    def get_item(self, TableName: str, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        if "site_id" in Key:
            domains = {"L": [{"S": HOST}]}
            fields = {"name": "Shop", "secret": "s", "consent_mode": "none", "created_at": "2026-01-01"}
            return {
                "Item": {
                    "site_id": Key["site_id"],
                    "domains": domains,
                    **{k: {"S": v} for k, v in fields.items()},
                }
            }
        contact = self.known.get(Key["pk"]["S"])
        return {"Item": {"contact_id": {"S": contact}}} if contact else {}

    def query(self, **_: Any) -> dict[str, Any]:
        return {"Items": []}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        return {"Responses": {}}


class Sim:
    """The simulated second hand, as both the services' clock and the stores' stopwatch."""

    def __init__(self) -> None:
        self.t = DAY.timestamp()
        self.db = Recorder(lambda: self.t)

    def __call__(self) -> float:
        return self.t

    @contextmanager
    def stopwatch(self) -> Iterator[None]:
        """The stores' cache and flush ages read the simulated time (restored afterwards)."""
        saved = clock.stopwatch, clock.ticks_ns
        clock.stopwatch, clock.ticks_ns = self, lambda: int(self.t * 1e9)  # type: ignore[assignment]
        try:
            yield
        finally:
            clock.stopwatch, clock.ticks_ns = saved  # type: ignore[assignment]


def zipf_weights(pages: int, top_share: float) -> list[float]:
    """Cumulative weights of `pages` Zipf-distributed pages whose most visited takes `top_share`."""
    low, high = 0.5, 3.0
    for _ in range(50):  # the exponent by bisection
        s = (low + high) / 2
        first = 1 / sum(k**-s for k in range(1, pages + 1))
        low, high = (s, high) if first < top_share else (low, s)
    return list(accumulate(k**-s for k in range(1, pages + 1)))


def _containers(sim: Sim, count: int) -> list[Beacons]:
    stores = [EventStore(sim.db, "sites", "events") for _ in range(count)]
    return [Beacons(store, 90, sim, identify=lambda site, visitor, token: "") for store in stores]


def _each_second(sim: Sim, seconds: int, rate: int) -> Iterator[int]:
    """The request numbers of `seconds` at `rate` a second, the clock moving with each."""
    start = sim.t
    for n in range(seconds * rate):
        sim.t = start + n / rate
        yield n
    sim.t = start + seconds


def page_views(sim: Sim, seconds: int, rate: int = 5000, visitors: int = 1_000_000) -> None:
    rng = random.Random(16)
    weights = zipf_weights(20_000, 0.20)
    paths = [f"/products/{k}" for k in range(1, 20_001)]
    beacons = _containers(sim, max(1, rate // 100))  # 10 ms a beacon: two writes and the rest
    for v in range(0, visitors, 5):  # one visitor in five is a known person
        sim.db.known[f"l#{SITE}#visitor-{v:07d}"] = f"c-{v:07d}"
    headers = {"origin": f"https://{HOST}", "user-agent": CHROME}
    anonymous = {**headers, "sec-gpc": "1"}
    for n in _each_second(sim, seconds, rate):
        v = rng.randrange(visitors)
        (path,) = rng.choices(paths, cum_weights=weights)
        body = json.dumps({"site": SITE, "v": f"visitor-{v:07d}", "u": f"https://{HOST}{path}", "t": "Tea"})
        ip = f"10.{v >> 16 & 255}.{v >> 8 & 255}.{v & 255}"
        seen = anonymous if v % 10 < 3 and v % 5 else headers
        outcome = beacons[n % len(beacons)].from_post(body.encode(), seen, ip, "POST")
        assert not outcome.refused, outcome
    _events_stream(sim)


def _events_stream(sim: Sim) -> None:
    """The events stream hands the hits on in batches of 100; each batch adds to the series."""
    figures = Figures(FigureBook(sim.db, "console"), None, None, sim)  # type: ignore[arg-type]
    by_second: dict[int, list[Fact]] = {}
    for at, pk in sim.db.put_hits:
        stamp = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
        by_second.setdefault(int(at), []).append(Fact("pageview", stamp, pk.startswith("c#")))
    sim.db.put_hits.clear()
    for second, facts in sorted(by_second.items()):
        sim.t = second + 0.5
        for start in range(0, len(facts), 100):
            figures.on_events(facts[start : start + 100], f"{second}-{start}")


def attack(sim: Sim, seconds: int, rate: int = 50_000) -> None:
    """Rejected hits, cheap to turn away (no write of their own): 5 ms each."""
    beacons = _containers(sim, max(1, rate // 200))
    foreign = {"origin": "https://evil.example", "user-agent": "curl/8"}
    ours = {"origin": f"https://{HOST}", "user-agent": "curl/8"}
    stray = json.dumps({"site": SITE, "u": "https://evil.example/", "v": "attacker-01"}).encode()
    for n in _each_second(sim, seconds, rate):
        ip = f"172.{n % 16}.{n // 16 % 256}.{n % 251}"
        outcome = beacons[n % len(beacons)].from_post(stray, foreign if n % 2 else ours, ip, "POST")
        assert outcome.refused in ("foreign_origin", "foreign_url"), outcome


def send(sim: Sim, people: int = 100_000, enter_rate: int = 5000, ses_rate: int = 500) -> None:
    """The calls the runner and the mailer make for each person (entry, claim, cap, sent, the
    place saved; report counters and timeline entries a page of 200 at a time), then SES's
    delivery notices a few seconds later and opens by one in five, each counted once."""
    journeys = JourneyStore(sim.db, "journeys")
    timelines = ContactState(sim.db, "contacts", "events")
    scenario, start = "autumn_sale", sim.t
    places = []
    for n in _each_second(sim, people // enter_rate, enter_rate):
        journey = Journey(scenario, f"c-{n:07d}", 1, "hello", DAY)
        place = Place(journey, f"p{n}@example.jp", 1, "active", 0, sim.t)
        journeys.save(place)
        places.append(place)
    feedback: list[tuple[float, str, str]] = []
    counts = Counts()
    for n in _each_second(sim, people // ses_rate, ses_rate):
        place, now = places[n], datetime.fromtimestamp(sim.t, UTC)
        contact, key = place.journey.contact_id, f"{place.journey.contact_id}#{scenario}#hello#1"
        journeys.claim(contact, key, {"kind": "send", "status": "claimed", "template": "sale"})
        journeys.reserve_mail_time(contact, sim.t, None)
        journeys.record_sent(contact, key, {"status": "sent", "ses_id": f"ses-{n}"}, f"ses-{n}")
        place.status, place.journey.step = "exited", "end"
        journeys.save(place)
        counts.add(scenario, now, "hello", "sent")
        counts.note(contact, now, "mail_sent", scenario, step="hello")
        feedback.append((sim.t + 3, contact, key))
        if n % 5 == 0:
            feedback.append((sim.t + 60 + n % 600, contact, key))
        if n % 200 == 199:
            journeys.count(counts.flush())
            timelines.add_to_timelines(counts.timeline)
            counts.timeline = []
    for at, contact, key in sorted(feedback):
        sim.t = at
        day = datetime.fromtimestamp(at, UTC).date().isoformat()
        journeys.count_once(contact, key, "delivered_at", "", {(scenario, day, "hello", "delivered"): 1})
    sim.t = max(sim.t, start + 1)


def contacts_import(sim: Sim, seconds: int, rate: int = 10_000) -> None:
    """New contacts through the contacts stream, 100 a batch: gauges and people index."""
    figures = Figures(FigureBook(sim.db, "console"), PeopleIndexTable(sim.db, "people"), None, sim)  # type: ignore[arg-type]
    names = ["山田 太郎", "佐藤 花子", "鈴木 一郎", "高橋 美咲", "田中 健", "Aiko Tanaka", "Ben Smith"]
    batch: list[tuple[None, dict[str, Any]]] = []
    for n in _each_second(sim, seconds, rate):
        grade = "D4" if n % 4 else "C3"
        image = {"email": f"new{n}@example.jp", "status": "subscribed", "grade": grade, "name": names[n % 7]}
        batch.append((None, image))
        if len(batch) == 100:
            figures.on_contacts(batch, f"contacts-{n}")
            batch = []


def hottest(sim: Sim, most: int = 3) -> list[tuple[int, str]]:
    """The keys that took the most write units in one second: (units, 'table key'), hottest first."""
    peak: Counter[str] = Counter()
    for (table, pk, _), units in sim.db.units.items():
        key = f"{table} {pk}"
        peak[key] = max(peak[key], units)
    return [(units, key) for key, units in peak.most_common(most)] or [(0, "-")]


def run(scale: float = 1.0) -> dict[str, list[tuple[int, str]]]:
    """Each scenario on its own simulated stack: {scenario: its hottest keys (units in a second, key)}."""
    found = {}
    scenarios: dict[str, Callable[[Sim], None]] = {
        "page_views": lambda sim: page_views(sim, max(2, int(20 * scale))),
        "attack": lambda sim: attack(sim, max(1, int(3 * scale))),
        "send": send,
        "contacts": lambda sim: contacts_import(sim, max(1, int(5 * scale))),
    }
    for name, scenario in scenarios.items():
        sim = Sim()
        with sim.stopwatch():
            scenario(sim)
        found[name] = hottest(sim)
    return found


def figures(figure: Callable[[str, float, str, float | None, str], None], say: Callable[[str], None]) -> None:
    say("partitions: a peak of a large shop through the real key-building code (hottest key per second)...")
    found = run()
    for name, ranking in found.items():
        say(f"  {name}: " + ", ".join(f"{units}/s on {key}" for units, key in ranking))
        figure(f"hot_key_writes_per_s_{name}", ranking[0][0], "writes/s", TARGET, "lower")
    units, key = max(ranking[0] for ranking in found.values())
    say(f"  hottest of all: {units} writes/s on {key} (DynamoDB's limit: {LIMIT} a key)")
    figure("hot_key_max_writes_per_s", units, "writes/s", TARGET, "lower")


if __name__ == "__main__":

    def _print(name: str, value: float, unit: str, target: float | None, better: str) -> None:
        print(json.dumps({"name": name, "value": value, "unit": unit, "target": target, "better": better}))

    figures(_print, lambda text: print(text, file=sys.stderr))
