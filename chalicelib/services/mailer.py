"""One scenario mail to one person, exactly once, through SES.

In order:
1. the action is claimed in the ledger (a conditional put on its key): if it
   was claimed before — a retry, a second tick, a crash after SES took the
   mail — nothing is sent;
2. consent is read afresh: someone who unsubscribed, bounced or complained a
   second ago gets nothing, even from a step queued before;
3. the mail takes its place under the frequency cap, atomically with every
   other mail to the person (given back if SES does not take it);
4. the mail is rendered (sandboxed templates, tracked links, open pixel,
   one-click unsubscribe) and handed to SES in the configuration set;
   throttling is retried with backoff within the run; if SES still will not
   take it, the claim is given back and the step stays due (nothing lost);
   a template that fails for this person's data (or costs more than a mail
   may) fails this mail alone, with the reason, and the tick goes on;
5. the ledger records SES's message id; feedback finds the mail by it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.consent import refusal
from chalicelib.domain.contact import Contact, Status
from chalicelib.domain.definitions.mailing import Mailing
from chalicelib.domain.errors import OutcomeUnknownError
from chalicelib.domain.journeys import Action
from chalicelib.domain.mail.cap import Cap
from chalicelib.domain.mail.links import track
from chalicelib.domain.mail.message import MailRejectedError, MailThrottledError, Sender, build_message
from chalicelib.domain.mail.templates import TemplateError
from chalicelib.domain.tokens import sign
from chalicelib.services.ports import ContactRepository, JourneyRepository, MailTransport, Secret

LINK_DAYS = 400  # tracked links and the unsubscribe link keep working this long
ATTEMPTS = 5


class MailServiceBusyError(RuntimeError):
    """The mail service would not take the mail now; the step stays due for a later tick."""


@dataclass(frozen=True)
class Links:
    api: str  # the public base URL of the API: https://.../api
    key: Secret  # the link-signing key
    require_https: bool = True


@dataclass(frozen=True)
class Sent:
    outcome: str  # sent, duplicate, suppressed, not_subscribed, paused, topic_off, rejected, failed, capped
    ses_id: str = ""  # or LINE's request id, SNS's message id
    channel: str = "email"  # or line, sms (chalicelib/services/messenger.py)


class Mailer:
    def __init__(
        self,
        transport: MailTransport,
        journeys: JourneyRepository,
        contacts: ContactRepository,
        sender_address: str,
        links: Links,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._transport = transport
        self._journeys = journeys
        self._contacts = contacts
        self._from = sender_address
        self._links = links
        self._sleep = sleep  # between tries while the mail service throttles

    @property
    def links(self) -> Links:
        return self._links

    def send(
        self,
        action: Action,
        contact: Contact,
        mailing: Mailing,
        now: datetime,
        branch: str,
        cap: Cap | None = None,
        resend: bool = False,
    ) -> Sent:
        """`cap` (mails, hours) is checked and taken atomically with the other mails to this
        person ('capped': the claim is given back, nothing was sent); a `resend` after a soft
        bounce is the same mail and takes no place under it."""
        contact_id = contact["contact_id"]
        at = now.isoformat(timespec="seconds")
        claimed = self._journeys.claim(
            contact_id,
            action.key,
            {
                "kind": "send",
                "status": "claimed",
                "scenario": action.scenario,
                "step": action.step,
                "template": str(action.spec),
                "at": at,
            }
            | ({"branch": branch} if branch else {}),
        )
        if not claimed:
            return Sent("duplicate")
        fresh, suppressed = self._contacts.for_sending(contact["email"])
        if fresh is None or fresh.get("status") in Status.BLOCKED or suppressed:
            self._journeys.note(contact_id, action.key, {"status": "suppressed"})
            return Sent("suppressed")
        refused = refusal(fresh, mailing.topics.get(str(action.spec)), at)
        if refused:  # not subscribed, paused, or not for this mail's topic
            self._journeys.note(contact_id, action.key, {"status": refused})
            return Sent(refused)
        moment = now.timestamp()
        if not resend and not self._journeys.reserve_mail_time(contact_id, moment, cap):
            self._journeys.release(contact_id, action.key)  # another scenario's mail took the last place
            return Sent("capped")
        try:
            raw = self.compose(action, fresh, mailing, now)
        except TemplateError as error:  # this person's data makes the template fail: this mail only
            if not resend:
                self._journeys.free_mail_time(contact_id, moment)
            self._journeys.note(contact_id, action.key, {"status": "failed", "reason": str(error)[:300]})
            return Sent("failed")
        try:
            ses_id = self._hand_over(contact_id, action.key, fresh["email"], raw)
        except OutcomeUnknownError as lost:  # its place under the cap stays taken too
            self._journeys.note(contact_id, action.key, {"status": "unknown", "reason": str(lost), "at": at})
            return Sent("unknown")
        except Exception:
            if not resend:
                self._journeys.free_mail_time(contact_id, moment)
            raise
        if not ses_id:
            if not resend:
                self._journeys.free_mail_time(contact_id, moment)
            return Sent("rejected")
        self._journeys.record_sent(
            contact_id, action.key, {"status": "sent", "ses_id": ses_id, "sent_at": at}, ses_id
        )
        return Sent("sent", ses_id)

    def compose(self, action: Action, contact: Contact, mailing: Mailing, now: datetime) -> bytes:
        """The whole MIME message for this person (also what `make bench` times)."""
        key = self._links.key()
        expires = int(now.timestamp()) + LINK_DAYS * 86400
        topic = mailing.topics.get(str(action.spec))
        claims = {"unsub": action.key} | ({"t": topic} if topic else {})  # one-click leaves this topic
        unsubscribe = f"{self._links.api}/u/{sign(claims, key, expires)}"
        preferences = f"{self._links.api}/p/{sign({'pref': action.key}, key, expires)}"
        extras = {"unsubscribe_url": unsubscribe, "preferences_url": preferences}
        rendered = mailing.templates[action.spec].render(contact, extras)
        tracked = track(rendered.html, self._links.api, action.key, key, expires)
        sender = Sender(mailing.sender_name, self._from, mailing.postal_address)
        return build_message(
            sender,
            contact["email"],
            type(rendered)(rendered.subject, tracked, rendered.text),
            unsubscribe,
            now,
            {"X-Sodate-Mail": action.key.split("#", 1)[1]},
            require_https=self._links.require_https,
            preferences_url=preferences,
        )

    def _hand_over(self, contact_id: str, key: str, to: str, raw: bytes) -> str:
        """The mail service's message id; '' when it refused this mail for good."""
        for attempt in range(ATTEMPTS):
            try:
                return self._transport.send_raw(to, raw)
            except MailThrottledError:
                if attempt < ATTEMPTS - 1:  # no pause after the last try: the tick moves on
                    self._sleep(min(0.2 * 2**attempt, 2.0))
            except MailRejectedError as error:
                self._journeys.note(contact_id, key, {"status": "rejected", "reason": str(error)[:300]})
                return ""
            except OutcomeUnknownError:
                raise  # it may have gone: the claim stays, so it never goes twice
            except Exception:
                self._journeys.release(contact_id, key)  # not sent: the step is tried again later
                raise
        self._journeys.release(contact_id, key)
        raise MailServiceBusyError("the mail service kept throttling")
