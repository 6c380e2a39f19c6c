"""A scenario runner over the in-memory fakes: the shipped definitions plus one scenario of the
test's, people already entered, and a clock that stands still until moved."""

from __future__ import annotations

from pathlib import Path

from chalicelib.domain.journeys import Journey, Place
from chalicelib.services.batches import Isolation
from chalicelib.services.consent import ConsentRecords
from chalicelib.services.definitions import DefinitionsService
from chalicelib.services.mail_events import MailEvents
from chalicelib.services.mailer import Links, Mailer
from chalicelib.services.messenger import Messenger
from chalicelib.services.sales_alerts import SalesAlerts
from chalicelib.services.scenario_actions import Actions
from chalicelib.services.scenario_runner import ScenarioRunner
from chalicelib.services.short_links import ShortLinks
from chalicelib.services.sms_receipts import SmsReceipts
from tests.fakes import (
    FakeClock,
    MemoryBuckets,
    MemoryConsentLedger,
    MemoryDefinitionVersions,
    MemoryFiles,
    MemoryJourneys,
    MemoryParking,
    MemoryPeople,
    MemoryShortLinks,
    MemorySites,
    RecordingAlerts,
    RecordingLine,
    RecordingPost,
    RecordingSms,
    RecordingTransport,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config"
API, LINK_KEY = "https://t.example.jp/api", "k" * 64

# A mail under a cap of one a day, a split, an update, an exit: the scenario both the
# interleaving tests (tests/unit) and the ticks at a barrier (tests/aws) walk.
ONE_MAIL_A_DAY = """
timezone: UTC
frequency_cap: {mails: 1, hours: 24}
scenarios:
  - name: welcome
    entry: {segment: first_time_buyers}
    steps:
      - {id: hello, send: thank_you}
      - id: ab
        split: {a: 50, b: 50}
      - {id: a, update: {attrs: {path: a}}, next: bye}
      - {id: b, update: {attrs: {path: b}}, next: bye}
      - {id: bye, exit: true}
"""


class ScenarioWorld:
    def __init__(self, scenarios: str = ONE_MAIL_A_DAY) -> None:
        self.clock = FakeClock()
        self.people = MemoryPeople()
        self.journeys = MemoryJourneys()
        self.transport = RecordingTransport()
        self.alerts = RecordingAlerts()
        self.post = RecordingPost()
        self.parking = MemoryParking()
        self.definitions = DefinitionsService(MemoryDefinitionVersions(), MemoryFiles(), self.clock)
        for kind in ("catalogue", "scoring", "segments", "templates"):
            self.definitions.submit(kind, (EXAMPLES / f"{kind}.yaml").read_bytes(), f"{kind}.yaml")
        self.definitions.submit("scenarios", scenarios.encode(), "scenarios.yaml")
        self.isolation = Isolation(self.parking, lambda error: False)
        self.line, self.sms = RecordingLine(), RecordingSms(frozenset({"+819000000099"}))
        self.transactional_sms = RecordingSms(self.sms.opted)  # the gateway of transactional texts
        self.short_codes = MemoryShortLinks()
        self.short_links: ShortLinks | None = ShortLinks(
            self.short_codes, "https://t.example.jp/api", self.clock
        )
        self.buckets = MemoryBuckets(self.journeys, self.clock)

    def runner(self, journeys: object | None = None, people: object | None = None) -> ScenarioRunner:
        """A runner (a tick's worth of services); `journeys`/`people` may wrap the shared fakes."""
        journeys = journeys or self.journeys
        people = people or self.people
        links = Links(API, lambda: LINK_KEY)
        mailer = Mailer(self.transport, journeys, people, "news@example.jp", links, lambda s: None)  # type: ignore[arg-type]
        actions = self.actions(journeys, people)
        messenger = Messenger(
            self.line,
            self.sms,
            self.buckets,
            journeys,  # type: ignore[arg-type]
            people,  # type: ignore[arg-type]
            mailer,
            self.clock,
            lambda s: None,
            transactional_sms=self.transactional_sms,
            short_links=self.short_links,
        )
        return ScenarioRunner(journeys, people, self.definitions, mailer, actions, self.clock, messenger)  # type: ignore[arg-type]

    def actions(self, journeys: object | None = None, people: object | None = None) -> Actions:
        journeys, people = journeys or self.journeys, people or self.people
        return Actions(journeys, people, SalesAlerts(self.alerts), self.post, lambda: "w" * 64)  # type: ignore[arg-type]

    def mail_events(self) -> MailEvents:
        """Clicks (in mail, LINE messages and texts alike) and SES's feedback, over the same fakes."""
        consent = ConsentRecords(MemoryConsentLedger(), self.clock)
        key = lambda: LINK_KEY  # noqa: E731
        args = (self.actions(), self.people, key, self.clock, MemorySites(), consent)
        return MailEvents(self.journeys, self.people, *args)

    def sms_receipts(self) -> SmsReceipts:
        return SmsReceipts(self.journeys, self.actions(), self.clock)

    def subscriber(self, n: int) -> str:
        contact_id = f"c{n:03d}"
        self.people.add(f"p{n}@example.com", contact_id, status="subscribed", name=f"P{n}")
        return contact_id

    def entered(self, contact_id: str, scenario: str = "welcome", first_step: str = "hello") -> None:
        """The person entered a moment ago: their place is due now."""
        now = self.runner().now()
        email = self.people.email_of(contact_id) or ""
        journey = Journey(scenario, contact_id, 1, first_step, now)
        version = self.definitions.in_force().definitions.journeys.version
        self.journeys.save(Place(journey, email, version, "active", 0, now.timestamp()))

    def due(self) -> list[Place]:
        return [p for p in self.journeys.due(0, self.clock(), 10_000) if isinstance(p, Place)]

    def picture(self) -> dict[str, object]:
        """Everything a marketer could look at afterwards: places, report, timelines, mail."""
        places = {
            key: (p.status, p.journey.step, p.journey.due_at, sorted(p.journey.branches.items()))
            for key, p in self.journeys.places.items()
        }
        timelines = {
            contact_id: sorted((e["kind"], e.get("name", ""), e.get("step", "")) for e in entries.values())
            for contact_id, entries in self.people.timelines.items()
        }
        return {
            "places": places,
            "counts": dict(sorted(self.journeys.counts.items())),
            "timelines": timelines,
            "mail": sorted(self.transport.to()),
            "ledger": {k: v.get("status") for k, v in sorted(self.journeys.ledger.items())},
        }
