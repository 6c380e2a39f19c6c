"""In-memory twins of the rest of the outside world: the clock, sites and hits, definition
versions, the mail service, the sales channel, webhooks and the dead-letter queue."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.definitions.versions import StaleVersionError, Version
from chalicelib.domain.errors import OutcomeUnknownError
from chalicelib.domain.hits import Hit
from chalicelib.domain.mail.message import MailRejectedError, MailThrottledError
from chalicelib.domain.site import Site


class FakeClock:
    """The one clock, standing still until a test moves it."""

    def __init__(self, at: datetime = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now

    def travel(self, seconds: float) -> None:
        self.now += seconds


class MemorySites:
    """The events table as the beacon path and the admin see it (HitLog and SiteDirectory)."""

    def __init__(self) -> None:
        self.sites: dict[str, Site] = {}
        self.hits: dict[str, list[dict[str, Any]]] = {}  # owner (c#, v#, a#) -> hits
        self.links: dict[tuple[str, str], str] = {}
        self.rejections: dict[tuple[str, str, str], int] = {}
        self.spent: set[str] = set()
        self.reads = 0  # of the sites table
        self.cached: set[str] = set()  # the ids read so far: what a container's cache would hold

    def site(self, site_id: str, read: bool = True) -> Site | None:
        if not read:
            return self.sites.get(site_id) if site_id in self.cached else None
        self.reads += 1
        self.cached.add(site_id)
        return self.sites.get(site_id)

    def put_site(self, site: Site) -> None:
        self.sites[site.site_id] = site

    def all_sites(self) -> list[Site]:
        return list(self.sites.values())

    def site_for_host(self, host: str) -> Site | None:
        return next((s for s in self.sites.values() if s.rules.owns(host)), None)

    def record(self, hit: Hit, owner: str, at: str, expires_at: int | None) -> None:
        """As EventStore.record writes the item: `visitor` and `expires_at` only when given."""
        entry: dict[str, Any] = {
            "kind": hit.kind,
            "path": hit.path,
            "url": hit.url,
            "at": at,
            "name": hit.name or "",
        }
        for name, value in (("bot", hit.bot), ("visitor", hit.visitor_id), ("expires_at", expires_at)):
            if value:
                entry[name] = value
        self.hits.setdefault(owner, []).append(entry)

    def linked_contact(self, site_id: str, visitor_id: str) -> str | None:
        return self.links.get((site_id, visitor_id))

    def count_rejected(self, site_id: str, reason: str, day: str) -> None:
        key = (site_id, day, reason)
        self.rejections[key] = self.rejections.get(key, 0) + 1

    def spend(self, once: str, expires_at: int) -> bool:
        if once in self.spent:
            return False
        self.spent.add(once)
        return True

    def link(self, site_id: str, visitor_id: str, contact_id: str, at: str) -> None:
        self.links[(site_id, visitor_id)] = contact_id

    def move_history(self, site_id: str, visitor_id: str, contact_id: str) -> int:
        moved = self.hits.pop(f"v#{site_id}#{visitor_id}", [])  # and they stop expiring
        kept = [{k: v for k, v in hit.items() if k != "expires_at"} for hit in moved]
        self.hits.setdefault(f"c#{contact_id}", []).extend(kept)
        return len(moved)

    def erase_contact(self, contact_id: str, line_user_id: str = "") -> int:
        self.links = {k: v for k, v in self.links.items() if v != contact_id}
        return len(self.hits.pop(f"c#{contact_id}", []))

    def pages(self, site_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], None]:
        return [], None

    def page_last_hit(self, site_id: str, path: str) -> str | None:
        return None

    def rejected(self, site_id: str, day: str) -> dict[str, int]:
        return {r: n for (s, d, r), n in self.rejections.items() if (s, d) == (site_id, day)}

    def timeline(self, owner: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], None]:
        return sorted(self.hits.get(owner, []), key=lambda h: h["at"], reverse=True)[:limit], None


class MemoryDefinitionVersions:
    def __init__(self) -> None:
        self.kept: dict[str, list[Version]] = {}
        self.populations: dict[str, dict[str, Any]] = {}

    def active(self, kinds: tuple[str, ...]) -> dict[str, Version]:
        return {k: self.kept[k][-1] for k in kinds if self.kept.get(k)}

    def activate(
        self, kind: str, text: str, file: str, at: str, replacing: int, against: dict[str, int]
    ) -> int:
        for checked, number in {kind: replacing, **against}.items():
            kept = self.kept.get(checked)
            if (kept[-1].number if kept else 0) != number:
                raise StaleVersionError(checked)
        kept = self.kept.setdefault(kind, [])
        kept.append(Version(kind, replacing + 1, text, file, at))
        return replacing + 1

    def versions(self, kind: str, limit: int = 50) -> list[Version]:
        return list(reversed(self.kept.get(kind, [])))[:limit]

    def population(self, name: str) -> dict[str, Any] | None:
        return self.populations.get(name)

    def put_population(self, name: str, data: dict[str, Any]) -> None:
        self.populations[name] = data


class RecordingTransport:
    """The mail service: takes every message (in order), or throttles / refuses as told."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.throttle_next = 0  # refuse this many calls as 'too fast'
        self.lose_answers = 0  # the next this many mails go, but their answers never come back
        self.refuse: set[str] = set()  # addresses refused for good
        self._lock = threading.Lock()

    def send_raw(self, to: str, raw: bytes) -> str:
        with self._lock:
            if self.throttle_next > 0:
                self.throttle_next -= 1
                raise MailThrottledError("Maximum sending rate exceeded.")
            if to in self.refuse:
                raise MailRejectedError("Email address is not verified.")
            self.sent.append((to, raw))
            if self.lose_answers > 0:
                self.lose_answers -= 1
                raise OutcomeUnknownError("SES's answer was lost: Read timed out.")
            return f"ses-{len(self.sent):04d}"

    def to(self) -> list[str]:
        return [to for to, _ in self.sent]


class RecordingAlerts:
    """The sales channel: mails and published summaries, as sent."""

    def __init__(self) -> None:
        self.mails: list[tuple[list[str], str, str]] = []
        self.published: list[dict[str, Any]] = []

    def mail(self, to: list[str], subject: str, text: str) -> None:
        self.mails.append((to, subject, text))

    def publish(self, subject: str, summary: dict[str, Any], score: str) -> None:
        self.published.append(summary)


class RecordingPost:
    """A webhook receiver: every call kept; answers with the statuses it is given, then 200."""

    def __init__(self, *statuses: int) -> None:
        self.calls: list[tuple[str, bytes, dict[str, str]]] = []
        self._statuses = list(statuses)

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.calls.append((url, body, headers))
        return self._statuses.pop(0) if self._statuses else 200


class MemoryParking:
    """The dead-letter queue: what was parked, by which handler, and why."""

    def __init__(self) -> None:
        self.parked: list[tuple[str, dict[str, Any], str]] = []

    def park(self, handler: str, payload: dict[str, Any], error: str) -> None:
        self.parked.append((handler, payload, error))
