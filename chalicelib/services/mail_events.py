"""What happens to a mail after it is sent: opens, clicks, unsubscribes, SES feedback.

- Clicks and opens arrive on Sodate's own signed links.  A click redirects
  only to the address inside its token (nothing else, whatever the query
  says) and carries an identity token so the tag knows the visitor on
  landing.  Machine traffic — link scanners, privacy proxies that fetch every
  image, anything within seconds of sending, HEAD requests — is recorded as
  such and never counted or scored.
- Unsubscribe: a GET shows a page and changes nothing (scanners follow
  links); the one-click POST (RFC 8058) unsubscribes, no cookie needed.
- SES feedback (configuration-set events or identity notifications, through
  SNS): a permanent bounce or a complaint suppresses the address at once; a
  transient bounce resends later (up to three times); deliveries are
  recorded.  Every figure is counted once per mail however often SES
  repeats itself, whatever the order, and for each recipient named.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from chalicelib.domain.bots import bot_reason
from chalicelib.domain.consent import Change, ConsentEntry
from chalicelib.domain.contact import Status
from chalicelib.domain.emails import InvalidEmailError, normalize_email
from chalicelib.domain.journeys import key_parts
from chalicelib.domain.mail.links import click, opened
from chalicelib.domain.tally import Counts
from chalicelib.domain.timeline import mail_entry
from chalicelib.domain.tokens import (
    UNSUBSCRIBE,
    UNSUBSCRIBE_TOPIC,
    InvalidTokenError,
    identity_token,
    sign,
    verify,
)
from chalicelib.logs import logger
from chalicelib.services.consent import ConsentRecords
from chalicelib.services.ports import (
    Clock,
    ContactDirectory,
    ContactRepository,
    JourneyRepository,
    Secret,
    SiteDirectory,
)
from chalicelib.services.scenario_actions import Actions

MACHINE_SECONDS = 10  # an open or click this soon after sending is a scanner or a proxy
RESEND_HOURS = (1, 4, 12)
PAGE_SECONDS = 3600  # a preference page opened from the unsubscribe page works this long
IDENTITY_SECONDS = 3600  # the landing page reads it at once; it lives no longer than needed


class MailEvents:
    def __init__(
        self,
        journeys: JourneyRepository,
        state: ContactRepository,
        actions: Actions,
        directory: ContactDirectory,
        link_key: Secret,
        clock: Clock,
        sites: SiteDirectory,
        consent: ConsentRecords,
    ) -> None:
        self._consent = consent
        self._sites = sites
        self._journeys = journeys
        self._state = state
        self._actions = actions
        self._directory = directory
        self._suppress = directory.suppress  # (normalized email, reason, at): never mailed again
        self._key = link_key
        self._clock = clock

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    # --- our own links ------------------------------------------------------------------------------
    def clicked(self, token: str, user_agent: str, method: str) -> str:
        """Where to send the browser; InvalidTokenError for a link we did not sign."""
        key, url = click(token, self._key(), self._clock())
        contact_id = key_parts(key)[0]
        person = self._record(key, "clicked", user_agent, method, url)
        if person and self._sites.site_for_host(urlsplit(url).hostname or "") is not None:
            joiner = "&" if "?" in url.split("#", 1)[0] else "?"
            identity = identity_token(contact_id, self._key(), int(self._clock()) + IDENTITY_SECONDS)
            base, _, fragment = url.partition("#")
            return f"{base}{joiner}sodate_t={identity}" + (f"#{fragment}" if fragment else "")
        return url  # a scanner, or a host no site of ours owns, learns nobody's identity

    def opened(self, token: str, user_agent: str) -> None:
        try:
            key = opened(token, self._key(), self._clock())
        except InvalidTokenError:
            return  # a broken pixel is still a pixel
        self._record(key, "opened", user_agent, "GET", "")

    def _record(self, key: str, what: str, user_agent: str, method: str, url: str) -> bool:
        """True for a person, False for a machine; counts and scores only the first by a person."""
        contact_id, scenario, step = key_parts(key)
        sent = self._journeys.action(contact_id, key) or {}
        now = self.now()
        reason = bot_reason(user_agent, method)
        sent_at = sent.get("sent_at")
        if reason is None and sent_at and now.timestamp() - _epoch(sent_at) < MACHINE_SECONDS:
            reason = "too_soon_after_sending"
        kind = "email_click" if what == "clicked" else "email_open"
        stamp = now.isoformat(timespec="milliseconds")
        entry = (
            mail_entry(now, kind, key, sent.get("template", ""), scenario, step)
            | ({"url": url[:500]} if url else {})
            | ({"bot": reason} if reason else {})
            | ({"source": sent["channel"]} if sent.get("channel") in ("line", "sms") else {})
        )
        self._state.add_to_timeline(contact_id, [entry])
        if reason is None and sent:
            self._count_once(contact_id, key, sent, what, stamp)
            if what == "clicked" and sent.get("channel") not in ("line", "sms"):
                self._count_once(contact_id, key, sent, "opened", stamp)  # a click is a mail's open
        return reason is None

    # --- unsubscribe ----------------------------------------------------------------------------------
    def unsubscribe_target(self, token: str) -> dict[str, str]:
        """What the unsubscribe page shows: the address, the mail's topic ('' when it has none)
        and the token of the person's preference page; InvalidTokenError if forged."""
        key, topic = self._unsub_claims(token)
        contact = self._state.by_id(key.split("#", 1)[0])
        expires = int(self._clock()) + PAGE_SECONDS
        preferences = sign({"pref": key}, self._key(), expires)
        return {"email": str(contact["email"]) if contact else "", "topic": topic, "preferences": preferences}

    def unsubscribe(self, token: str, ip: str = "", user_agent: str = "") -> bool:
        """RFC 8058 one-click: a mail about a topic leaves that topic, any other unsubscribes.
        True when this changed something; a repeat (or an erased person) changes nothing."""
        key, topic = self._unsub_claims(token)
        if topic:
            return self._leave_topic(key, topic, ip, user_agent)
        return self.unsubscribe_from(key, "unsubscribe", "one-click link", ip, user_agent)

    def unsubscribe_from(self, key: str, source: str, how: str, ip: str = "", user_agent: str = "") -> bool:
        """Unsubscribe the person a mail (its ledger key) went to, from everything."""
        contact_id, scenario, step = key_parts(key)
        contact, now, at = self._person_now(contact_id)
        if contact is None:  # erased meanwhile: nothing to change
            return False
        reason = f"unsubscribe:{scenario}"
        if contact.get("status") not in Status.BLOCKED:
            # First on the do-not-mail list, which every send reads: an import that read the
            # contact a moment before and writes it back cannot make this address mailable
            # again -- and if what follows fails, the repeated POST finds the status unchanged.
            self._suppress(contact["email"], f"unsubscribed:{scenario}", at)
        changed = self._state.block(contact["email"], Status.UNSUBSCRIBED, reason, at)
        if changed:
            detail = {"scenario": scenario, "step": step, "mail": key, "how": how}
            entry = ConsentEntry(
                at, Change.WITHDRAWN, source, "person", Status.UNSUBSCRIBED, detail, ip, user_agent
            )
            self._consent.record(contact_id, entry, was_mailable=contact.get("status") == Status.SUBSCRIBED)
        by_this_link = changed or (
            contact.get("status") == Status.UNSUBSCRIBED and contact.get("consent_source") == reason
        )
        if by_this_link:
            self._count_unsubscribe(key, now)
        return changed

    def _count_unsubscribe(self, key: str, now: datetime, **detail: str) -> None:
        """The mail's 'unsubscribed' figure and the timeline's entry, once per mail."""
        contact_id, scenario, step = key_parts(key)
        sent = self._journeys.action(contact_id, key) or {}
        if self._count_once(contact_id, key, sent, "unsubscribed", now.isoformat(timespec="seconds")):
            self._actions.timeline(contact_id, now, "unsubscribed", scenario, step=step, how="link", **detail)

    def _leave_topic(self, key: str, topic: str, ip: str, user_agent: str) -> bool:
        contact_id, scenario, step = key_parts(key)
        contact, now, at = self._person_now(contact_id)
        if contact is None:
            return False
        changed = self._directory.turn_off_topic(contact["email"], topic, at)
        if changed:
            detail = {"off": topic, "scenario": scenario, "step": step, "mail": key, "how": "one-click link"}
            status = str(contact.get("status"))
            self._consent.record(
                contact_id,
                ConsentEntry(at, Change.TOPICS, "unsubscribe", "person", status, detail, ip, user_agent),
            )
            self._count_unsubscribe(key, now, topic=topic)
        return changed

    def _person_now(self, contact_id: str) -> tuple[dict[str, Any] | None, datetime, str]:
        """The person a mail went to (None: erased), and the moment, as a time and as text."""
        now = self.now()
        return self._state.by_id(contact_id), now, now.isoformat(timespec="seconds")

    def _unsub_claims(self, token: str) -> tuple[str, str]:
        claims = verify(token, self._key(), self._clock(), (UNSUBSCRIBE, UNSUBSCRIBE_TOPIC))
        key = claims.get("unsub")
        if not isinstance(key, str) or key.count("#") < 3:
            raise InvalidTokenError("malformed")
        return key, str(claims.get("t", ""))

    # --- SES feedback -------------------------------------------------------------------------------
    def on_feedback(self, message: dict[str, Any]) -> None:
        """One SES event (configuration-set event or identity notification) about one mail."""
        kind = str(message.get("eventType") or message.get("notificationType") or "")
        ses_id = message.get("mail", {}).get("messageId", "")
        found = self._journeys.by_ses(ses_id) if ses_id else None
        now = self.now()
        at = now.isoformat(timespec="seconds")
        if kind == "Bounce":
            bounce = message.get("bounce", {})
            permanent = bounce.get("bounceType") == "Permanent"
            for recipient in bounce.get("bouncedRecipients", []):
                if permanent:
                    self._block(recipient.get("emailAddress", ""), "bounced", at)
            if found and permanent:
                self._figure(found, "bounced", at)
            elif found and f"soft_bounce_{ses_id}" not in (self._journeys.action(*found) or {}):
                self._resend_later(found, now)  # first: a retry after a passing fault schedules it again
                self._journeys.first_time(found[0], found[1], f"soft_bounce_{ses_id}", at)
        elif kind == "Complaint":
            for recipient in message.get("complaint", {}).get("complainedRecipients", []):
                self._block(recipient.get("emailAddress", ""), "complained", at)
            if found:
                self._figure(found, "complained", at)
        elif kind == "Delivery":
            if found:  # a confirmation mail has no scenario to count it in
                self._figure(found, "delivered", at)
        elif kind not in ("Send", "Open", "Click", "DeliveryDelay", "Reject", "RenderingFailure"):
            logger.warning("unknown SES feedback", extra={"type": kind})

    def _block(self, address: str, reason: str, at: str) -> None:
        try:
            email = normalize_email(address)
        except InvalidEmailError:
            return
        self._suppress(email, reason, at)  # first: even a contact made later stays unmailable
        before = self._state.by_email(email)
        if self._state.block(email, Status.SUPPRESSED, reason, at):
            contact = self._state.by_email(email)
            if contact is not None:
                source = "bounce" if reason == "bounced" else "complaint"
                entry = ConsentEntry(
                    at, Change.SUPPRESSED, source, "mail-service", Status.SUPPRESSED, {"reason": reason}
                )
                mailable = before is not None and before.get("status") == Status.SUBSCRIBED
                self._consent.record(contact["contact_id"], entry, was_mailable=mailable)
                self._actions.timeline(contact["contact_id"], self.now(), reason, "", how="ses")

    def _figure(self, found: tuple[str, str], figure: str, at: str) -> None:
        contact_id, key = found
        sent = self._journeys.action(contact_id, key) or {}
        if not self._count_once(contact_id, key, sent, figure, at):
            return  # SES said it before
        _, scenario, step = key_parts(key)
        self._actions.timeline(contact_id, self.now(), f"mail_{figure}", scenario, step=step)

    def _count_once(self, contact_id: str, key: str, sent: dict[str, str], figure: str, at: str) -> bool:
        """Count a figure of one mail -- under its step and the split branches it was sent in --
        together with the mark on its ledger entry that says it was counted: False when it was."""
        _, scenario, step = key_parts(key)
        counts = Counts()
        counts.add_to_send(
            scenario, self.now(), step, figure, sent
        )  # a click in a LINE message or a text too
        return self._journeys.count_once(contact_id, key, f"{figure}_at", at, counts.flush())

    def _resend_later(self, found: tuple[str, str], now: datetime) -> None:
        contact_id, key = found
        sent = self._journeys.action(contact_id, key) or {}
        original, _, attempt = key.partition("#resend")
        tries = int(attempt or 0)
        if tries >= len(RESEND_HOURS) or "template" not in sent:
            self._figure(found, "soft_bounced", now.isoformat(timespec="seconds"))
            return
        task = {
            "key": f"{original}#resend{tries + 1}",
            "template": sent["template"],
            "step": sent.get("step", ""),
        }
        self._journeys.schedule(
            contact_id, f"resend#{original}", now.timestamp() + RESEND_HOURS[tries] * 3600, task
        )


def _epoch(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return 0.0
