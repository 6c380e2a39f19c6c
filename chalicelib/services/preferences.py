"""Use case: the preference page every mail links to -- topics on and off, a pause, or no mail
at all.  Opening it changes nothing (mail scanners open every link); each change is a POST
from the page, and each is an entry in the person's consent ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.consent import Change, ConsentEntry, chosen
from chalicelib.domain.contact import Status
from chalicelib.domain.errors import BadInputError, NotFoundError
from chalicelib.domain.journeys import key_parts
from chalicelib.domain.tokens import PREFERENCES, verify
from chalicelib.services.consent import ConsentRecords
from chalicelib.services.definitions import DefinitionsService
from chalicelib.services.mail_events import MailEvents
from chalicelib.services.ports import Clock, ContactDirectory, ContactRepository, Secret

PAUSES = (0, 7, 30, 90)  # days a person may pause their mail for


class Preferences:
    def __init__(
        self,
        definitions: DefinitionsService,
        state: ContactRepository,
        directory: ContactDirectory,
        consent: ConsentRecords,
        mail_events: MailEvents,
        link_key: Secret,
        clock: Clock,
    ) -> None:
        self._definitions = definitions
        self._state = state
        self._directory = directory
        self._consent = consent
        self._mail_events = mail_events
        self._key = link_key
        self._clock = clock

    def page(self, token: str) -> dict[str, Any]:
        """What the page shows: the address, each topic on or off, the pause."""
        _, contact = self._person(token)
        topics = self._definitions.in_force().definitions.forms.topics
        on = set(chosen(contact, topics))
        return {
            "email": contact["email"],
            "status": contact.get("status"),
            "topics": [{"name": t.name, "label": t.label, "on": t.name in on} for t in topics.values()],
            "paused_until": str(contact.get("paused_until") or ""),
        }

    def save(
        self, token: str, on: list[str], pause_days: int | None, ip: str, user_agent: str
    ) -> dict[str, Any]:
        """`pause_days` None keeps the pause as it is."""
        key, contact = self._person(token)
        if contact.get("status") != Status.SUBSCRIBED:
            raise BadInputError("This address is not subscribed; there is nothing to change.")
        defined = list(self._definitions.in_force().definitions.forms.topics)
        unknown = sorted(set(on) - set(defined))
        if unknown:
            raise BadInputError(f"topics: no topic {', '.join(unknown)[:200]}.")
        if pause_days is not None and pause_days not in PAUSES:
            raise BadInputError(f"pause: one of {', '.join(map(str, PAUSES))} days.")
        if defined and not on:  # every topic turned off: that is no mail at all
            self.unsubscribe_all(token, ip, user_agent)
            return {"unsubscribed": True}
        now = datetime.fromtimestamp(self._clock(), UTC)
        at = now.isoformat(timespec="seconds")
        kept = str(contact.get("paused_until") or "")
        if pause_days is None:
            until = kept if kept > at else ""
        else:
            until = (now + timedelta(days=pause_days)).isoformat(timespec="seconds") if pause_days else ""
        before = set(chosen(contact, defined))
        off = sorted(set(defined) - set(on))
        if not self._directory.set_preferences(contact["email"], sorted(set(on)), off, until, at):
            raise BadInputError("This address is not subscribed any more; there is nothing to change.")
        contact_id = str(contact["contact_id"])
        status = Status.SUBSCRIBED
        if before != set(on):
            detail = {"on": ",".join(sorted(set(on))), "off": ",".join(off), "mail": key}
            self._record(contact_id, Change.TOPICS, status, detail, ip, user_agent)
        if until != kept and (until or kept > at):  # a pause begun, moved or ended early
            self._record(contact_id, Change.PAUSED, status, {"until": until, "mail": key}, ip, user_agent)
        return {"unsubscribed": False, "topics": sorted(set(on)), "paused_until": until}

    def unsubscribe_all(self, token: str, ip: str, user_agent: str) -> bool:
        key, _ = self._person(token)
        return self._mail_events.unsubscribe_from(key, "preferences", "preference page", ip, user_agent)

    def _record(
        self, contact_id: str, change: str, status: str, detail: dict[str, str], ip: str, agent: str
    ) -> None:
        at = datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="seconds")
        self._consent.record(
            contact_id, ConsentEntry(at, change, "preferences", "person", status, detail, ip, agent)
        )

    def _person(self, token: str) -> tuple[str, dict[str, Any]]:
        key = str(verify(token, self._key(), self._clock(), PREFERENCES)["pref"])
        if key.count("#") < 3:
            raise BadInputError("The link is malformed.")
        contact = self._state.by_id(key_parts(key)[0])
        if contact is None:
            raise NotFoundError("This person is no longer known to us.")
        return key, contact
