"""Carries out every scenario for every person: entries, the 1-minute tick, goals.

- The events stream tells it who entered a segment, sent a form, bought, or
  did an event: that enters scenarios, reaches goals, and ends waits for an
  event.  Entering only writes the person's place, due now;
- the tick (every minute) reads due places from the sharded `by_due` index,
  a page per shard, and walks each person as far as they can go (sending,
  branching, waiting); it stops with time to spare and the next tick goes on;
- each action is claimed in the ledger before it is done, and a place is
  written only if nobody moved it meanwhile, so two ticks at once, a retried
  batch or a crash mid-way never do anything twice.  What an action did
  (a mail sent, a field updated) is counted by whoever claimed it; what a
  walk decided (a branch taken, a goal, an exit) is counted only when its
  place is saved, so a walk that loses the race to another tick leaves no
  trace, and a step already claimed is never held back by the cap its own
  mail took;
- a mail that does not go says why on the person's timeline (`mail_held`,
  chalicelib/domain/holds.py): quiet hours or the cap put the place off to
  the moment it is tried again, so the entry is written once per hold, by
  the walk whose save wins; a consent refusal or the do-not-mail list is the
  answer to a claimed send, so it too is written once, and the step is skipped.

Editing a running scenario: a person keeps walking the version they entered
under; when the new version has a step with the id they are on, they move
to the new version at that step.  If their version can no longer be read
(it named a template since removed), they move if they can and leave if not.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.channels import ChannelThrottledError, figure
from chalicelib.domain.contact import Contact
from chalicelib.domain.definitions.compile import Definitions
from chalicelib.domain.definitions.mailing import Journeys
from chalicelib.domain.errors import StaleJourneyError
from chalicelib.domain.holds import HELD, refused
from chalicelib.domain.journeys import Action, Journey, Place, Task, advance, triggered, zone_of
from chalicelib.domain.scenarios import SEND_KINDS, Scenario, Step
from chalicelib.domain.tally import Counts, Ticked
from chalicelib.domain.timeline import Recorded
from chalicelib.logs import logger
from chalicelib.services.definitions import DefinitionsService
from chalicelib.services.mailer import Mailer, MailServiceBusyError, Sent
from chalicelib.services.messenger import Messenger
from chalicelib.services.ports import Clock, ContactRepository, JourneyRepository
from chalicelib.services.scenario_actions import Actions
from chalicelib.services.scenario_checks import WalkChecks
from chalicelib.services.scenario_tasks import TaskRunner

TICK_RESERVE_MS = 15_000
TICK_WORKERS = 8  # shards walked side by side; DynamoDB and SES calls wait on the network
MAX_ROUNDS = 1000
SIGNAL_KINDS = frozenset({"segment_enter", "form", "conversion", "event", "purchase", "pageview"})


class MailCappedError(RuntimeError):
    """Another scenario's mail took the person's last place under the cap since the walk began:
    the walk is dropped unsaved, and the next one holds the mail until a place frees."""


class ScenarioRunner:
    def __init__(
        self,
        journeys: JourneyRepository,
        state: ContactRepository,
        definitions: DefinitionsService,
        mailer: Mailer,
        actions: Actions,
        clock: Clock,
        messenger: Messenger | None = None,
    ) -> None:
        self._messenger = messenger  # LINE and SMS (None: a send step goes by mail alone)
        self._journeys = journeys
        self._state = state
        self._definitions = definitions
        self._mailer = mailer
        self._actions = actions
        self._clock = clock
        self._checks = WalkChecks(journeys, state, definitions)
        self._tasks = TaskRunner(journeys, state, definitions, mailer, actions)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    # --- signals from the events stream -------------------------------------------------------------
    def on_events(self, entries: list[Recorded]) -> None:
        journeys = self._definitions.in_force().definitions.journeys
        if not journeys.scenarios:
            return
        signals: dict[str, list[tuple[str, str]]] = {}
        for entry in entries:
            if entry.kind in SIGNAL_KINDS and not entry.bot:
                name = entry.path if entry.kind == "pageview" else entry.name
                signals.setdefault(entry.contact_id, []).append((entry.kind, name))
        counts = Counts()
        places = self._journeys.places_in(signals, journeys.scenarios) if signals else {}
        try:
            for contact_id, found in signals.items():
                self._on_signals(journeys, contact_id, found, places.get(contact_id, []), counts)
        finally:
            self.write(counts)

    def _on_signals(
        self,
        journeys: Journeys,
        contact_id: str,
        signals: list[tuple[str, str]],
        kept: list[Place],
        counts: Counts,
    ) -> None:
        places = {p.journey.scenario: p for p in kept}
        now = self.now()
        contact: Contact | None = None
        for scenario in journeys.scenarios.values():
            place = places.get(scenario.name)
            if place is not None and place.running:
                if scenario.goal and triggered(scenario.goal, signals):
                    place.extra["goal_seen"] = True
                    self._wake(place, now)
                elif place.journey.waiting_for and any(n == place.journey.waiting_for for _, n in signals):
                    place.extra["event_seen"] = True
                    self._wake(place, now)
            elif triggered(scenario.entry, signals):
                if contact is None:  # entering needs the address alone; the walk reads the rest
                    email = self._state.email_of(contact_id)
                    contact = {"contact_id": contact_id, "email": email} if email else None
                if contact is not None:
                    self.enter(scenario, contact, place, now, journeys.version, counts)

    def _wake(self, place: Place, now: datetime) -> None:
        """Make the place due now, keeping what was seen; re-read if a tick moved it meanwhile."""
        seen = {k: v for k, v in place.extra.items() if k in ("goal_seen", "event_seen")}
        for _ in range(3):
            place.journey.due_at = min(place.journey.due_at, now)
            try:
                self._journeys.save(place)
                return
            except StaleJourneyError:
                fresh = [
                    p
                    for p in self._journeys.places_of(place.journey.contact_id)
                    if p.journey.scenario == place.journey.scenario
                ]
                if not fresh or not fresh[0].running:
                    return
                place = fresh[0]
                place.extra.update(seen)
        raise StaleJourneyError(place.journey.contact_id)  # the stream retries the batch

    def enter(
        self,
        scenario: Scenario,
        contact: Contact,
        old: Place | None,
        now: datetime,
        version: int,
        counts: Counts,
        occasion: str = "",
    ) -> bool:
        """Write the person's place, due `now`; False when the re-entry rule or a place kept says no.

        `occasion` (a date entry's local date) is kept on the place, so a second pass over
        the same day enters nobody again, whatever the re-entry rule."""
        if old is not None:
            if old.running or scenario.re_entry == "never":
                return False
            if occasion and old.extra.get("occasion") == occasion:
                return False
            ended = old.ended_at or 0.0
            if isinstance(scenario.re_entry, int) and now.timestamp() - ended < scenario.re_entry * 86400:
                return False
        entry = old.journey.entry + 1 if old else 1
        journey = Journey(scenario.name, contact["contact_id"], entry, scenario.first, now)
        place = Place(journey, contact["email"], version, "active", old.rev if old else 0, now.timestamp())
        if occasion:
            place.extra["occasion"] = occasion
        try:
            self._journeys.save(place)
        except StaleJourneyError:
            return False  # entered by a redelivered record already
        counts.add(scenario.name, now, "-", "entered")
        counts.moved(scenario.name, None, scenario.first)
        counts.note(contact["contact_id"], now, "scenario_enter", scenario.name, entry=str(entry))
        return True

    def write(self, counts: Counts) -> None:
        """A batch's report counters and timeline entries, in as few calls as they fit."""
        self._journeys.count(counts.flush())
        entries, counts.timeline = counts.timeline, []
        self._state.add_to_timelines(entries)

    # --- the tick ------------------------------------------------------------------------------------
    def tick(self, remaining_ms: Callable[[], int] = lambda: 10**9, page: int = 200) -> dict[str, Any]:
        """Everyone due: the shards side by side (a person lives in one shard, so no two workers
        ever hold the same person), each page by page until none is due or time is short
        (or SES keeps throttling even after backing off: the next tick goes on).  Answers
        walked, tasks, mails sent and mails held by reason (what the timelines got)."""
        stop = threading.Event()

        def shard_work(shard: int) -> Ticked:
            done = Ticked()
            for _ in range(MAX_ROUNDS):
                if stop.is_set() or remaining_ms() < TICK_RESERVE_MS:
                    break
                due = self._journeys.due(shard, self._clock(), page)
                if not due:
                    break
                try:
                    done.walked += self.walk_many(
                        [p for p in due if isinstance(p, Place)], remaining_ms, done
                    )
                    done.tasks += self._tasks.run([t for t in due if isinstance(t, Task)], self.now())
                except (MailServiceBusyError, ChannelThrottledError) as busy:
                    logger.warning("a channel is throttling; the rest waits", extra={"why": str(busy)})
                    stop.set()
                    break
            return done

        total = Ticked()
        with ThreadPoolExecutor(max_workers=TICK_WORKERS) as pool:
            for done in pool.map(shard_work, range(self._journeys.shards)):
                total.merge(done)
        if total.sent or total.held:
            logger.info("tick", extra=total.answer())
        return total.answer() | ({"throttled": 1} if stop.is_set() else {})

    def walk_many(
        self, places: list[Place], remaining_ms: Callable[[], int] = lambda: 10**9, done: Ticked | None = None
    ) -> int:
        """Walk these people; stop when the run's time is short (the rest stay due).  `done`
        counts the mails sent and held, as written to the timelines."""
        if not places:
            return 0
        in_force = self._definitions.in_force()
        now = self.now()
        contacts = {c["email"]: c for c in self._state.by_emails(sorted({p.email for p in places}))}
        counts = Counts()
        walked = 0
        try:
            for place in places:
                if remaining_ms() < TICK_RESERVE_MS:
                    break
                try:
                    walked += self._walk(place, contacts.get(place.email), in_force.definitions, now, counts)
                except (StaleJourneyError, MailCappedError):
                    continue  # another tick walked this person meanwhile, or the cap filled: no trace
        finally:  # what was done is counted, even when SES stops the batch
            if done is not None:
                done.saw(counts.timeline)
            self.write(counts)
        return walked

    def _walk(
        self, place: Place, contact: Contact | None, definitions: Definitions, now: datetime, counts: Counts
    ) -> int:
        """Walk one person; what the walk decided is counted only once its place is saved."""
        journeys = definitions.journeys
        scenario = self._scenario_for(place, journeys)
        if contact is None or scenario is None:  # erased, or the scenario is gone
            place.status, place.ended_at = "left", now.timestamp()
            self._journeys.save(place)
            counts.moved(place.journey.scenario, place.journey.step, None)
            return 1
        was_at = place.journey.step
        goal = bool(place.extra.pop("goal_seen", False)) or _in_goal(scenario, contact)
        event_seen = bool(place.extra.pop("event_seen", False))
        zone = zone_of(contact.get("timezone"), journeys.timezone)
        walk = advance(
            scenario,
            place.journey,
            now,
            self._checks.branch_test(contact, definitions, place.journey, now),
            goal_reached=goal,
            zone=zone,
            defer=self._checks.send_hold(scenario, place.journey, journeys, now, zone),
            event_seen=event_seen,
        )
        decided = Counts()  # kept only if this walk's save wins
        if walk.held is not None and walk.journey is not None:  # put off: the place waits till then
            waits_at = walk.journey.step
            fields = walk.held.fields(waits_at, str(scenario.steps[waits_at].spec), zone)
            decided.note(contact["contact_id"], now, HELD, scenario.name, **fields)
        for step, branch in place.journey.branches.items():
            if place.extra.setdefault("counted", []).count(step) == 0:
                place.extra["counted"].append(step)
                decided.add(scenario.name, now, f"{step}>{branch}", "entered")
        for action in walk.actions:
            self._do(
                action, place, contact, definitions, now, counts, decided, scenario.steps.get(action.step)
            )
        if walk.journey is None:
            place.status = "goal" if any(a.kind == "goal" for a in walk.actions) else "exited"
            place.ended_at = now.timestamp()
        decided.moved(scenario.name, was_at, place.journey.step if walk.journey else None)
        self._journeys.save(place)
        counts.merge(decided)
        return 1

    def _do(
        self,
        action: Action,
        place: Place,
        contact: Contact,
        definitions: Definitions,
        now: datetime,
        counts: Counts,
        decided: Counts,
        step: Step | None = None,
    ) -> None:
        """Actions are claimed in the ledger, so whoever claims one counts it (`counts`); goals and
        exits are the walk's own decision (`decided`)."""
        scenario = place.journey.scenario
        branch = ",".join(f"{s}>{b}" for s, b in place.journey.branches.items())
        if action.kind in SEND_KINDS:
            sent = self._send(action, step, contact, definitions, now, branch)
            if sent.outcome == "capped":
                raise MailCappedError(contact["contact_id"])
            if sent.outcome != "duplicate":
                counts.add(scenario, now, action.step, sent.outcome, branch)
                if sent.channel != "email":  # email's own figures are the rest of the step's
                    counts.add(scenario, now, action.step, figure(sent.channel, sent.outcome), branch)
            if sent.outcome == "sent" and sent.channel != "email":
                counts.note(contact["contact_id"], now, f"{sent.channel}_sent", scenario, step=action.step)
            elif sent.outcome == "sent":
                counts.note(
                    contact["contact_id"], now, "mail_sent", scenario, step=action.step, template=action.spec
                )
            elif (hold := refused(sent.outcome)) is not None:  # claimed, so noted once; the walk goes on
                counts.note(
                    contact["contact_id"], now, HELD, scenario, **hold.fields(action.step, str(action.spec))
                )
        elif action.kind in ("goal", "exit"):
            decided.add(scenario, now, "-", action.kind, branch)
            decided.note(contact["contact_id"], now, f"scenario_{action.kind}", scenario, step=action.step)
        elif self._actions.take(action, contact, definitions, now):
            counts.add(scenario, now, action.step, action.kind)

    def _send(
        self,
        action: Action,
        step: Step | None,
        contact: Contact,
        definitions: Definitions,
        now: datetime,
        branch: str,
    ) -> Sent:
        """A mail, or a LINE or SMS message, or the first channel of a send's that reaches the person."""
        cap, plan = definitions.journeys.cap, step.plan if step is not None else None
        if plan is None or plan.email_only or self._messenger is None:
            return self._mailer.send(action, contact, definitions.mailing, now, branch, cap)
        return self._messenger.send(action, plan, contact, definitions.mailing, now, branch, cap)

    def _scenario_for(self, place: Place, journeys: Journeys) -> Scenario | None:
        name, step = place.journey.scenario, place.journey.step
        current = journeys.scenarios.get(name)
        if place.version == journeys.version or (current is not None and step in current.steps):
            place.version = journeys.version
            return current
        older = self._definitions.scenarios_of_version(place.version).get(name)
        return older if older is not None and step in older.steps else None


def _in_goal(scenario: Scenario, contact: Contact) -> bool:
    goal = scenario.goal or {}
    return "segment" in goal and goal["segment"] in (contact.get("segments") or [])
