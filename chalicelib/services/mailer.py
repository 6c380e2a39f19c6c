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
5. the ledger records SES's message id; feedback finds the mail by it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.contact import Contact, Status
from chalicelib.domain.definitions.mailing import Mailing
from chalicelib.domain.journeys import Action
from chalicelib.domain.mail.links import track
from chalicelib.domain.mail.message import Sender, build_message
from chalicelib.domain.tokens import sign
from chalicelib.store.journeys import JourneyStore

LINK_DAYS = 400  # tracked links and the unsubscribe link keep working this long
THROTTLED = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException", "LimitExceeded"})
ATTEMPTS = 5


class TryLater(RuntimeError):
    """SES would not take the mail now; the step stays due and is tried on a later tick."""


@dataclass(frozen=True)
class Links:
    api: str  # the public base URL of the API: https://.../api
    key: Callable[[], str]  # the link-signing key
    require_https: bool = True


@dataclass(frozen=True)
class Sent:
    outcome: str  # sent, duplicate, suppressed, not_subscribed, rejected
    ses_id: str = ""


class Mailer:
    def __init__(
        self,
        ses: Any,
        journeys: JourneyStore,
        consent: Callable[[str], tuple[Contact | None, bool]],
        sender_address: str,
        configuration_set: str,
        links: Links,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._ses = ses
        self._journeys = journeys
        self._consent = consent  # by email: (the contact read afresh, on the do-not-mail list?)
        self._from = sender_address
        self._config_set = configuration_set
        self._links = links
        self._sleep = sleep

    def send(
        self,
        action: Action,
        contact: Contact,
        mailing: Mailing,
        now: datetime,
        branch: str,
        cap: tuple[int, int] | None = None,
        resend: bool = False,
    ) -> Sent:
        """`cap` (mails, hours) is checked and taken atomically with the other mails to this
        person; a `resend` after a soft bounce is the same mail and takes no place under it."""
        contact_id = contact["contact_id"]
        scenario = action.key.split("#")[1]
        at = now.isoformat(timespec="seconds")
        claimed = self._journeys.claim(
            contact_id,
            action.key,
            {
                "kind": "send",
                "status": "claimed",
                "scenario": scenario,
                "step": action.step,
                "template": str(action.spec),
                "at": at,
            }
            | ({"branch": branch} if branch else {}),
        )
        if not claimed:
            return Sent("duplicate")
        fresh, suppressed = self._consent(contact["email"])
        if fresh is None or fresh.get("status") in Status.BLOCKED or suppressed:
            self._journeys.note(contact_id, action.key, {"status": "suppressed"})
            return Sent("suppressed")
        if fresh.get("status") != Status.SUBSCRIBED:
            self._journeys.note(contact_id, action.key, {"status": "not_subscribed"})
            return Sent("not_subscribed")
        moment = now.timestamp()
        if not resend and not self._journeys.reserve_mail_time(contact_id, moment, cap):
            self._journeys.release(contact_id, action.key)  # another scenario's mail took the last place
            return Sent("capped")
        raw = self.compose(action, fresh, mailing, now)
        try:
            ses_id = self._hand_to_ses(contact_id, action.key, fresh["email"], raw)
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
        unsubscribe = f"{self._links.api}/u/{sign({'unsub': action.key}, key, expires)}"
        rendered = mailing.templates[action.spec].render(contact, {"unsubscribe_url": unsubscribe})
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
        )

    def _hand_to_ses(self, contact_id: str, key: str, to: str, raw: bytes) -> str:
        for attempt in range(ATTEMPTS):
            try:
                answer = self._ses.send_raw_email(
                    Source=self._from,
                    Destinations=[to],
                    RawMessage={"Data": raw},
                    **({"ConfigurationSetName": self._config_set} if self._config_set else {}),
                )
                return str(answer["MessageId"])
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                message = error.response.get("Error", {}).get("Message", "")
                if code in THROTTLED or "Maximum sending rate exceeded" in message:
                    self._sleep(min(0.2 * 2**attempt, 2.0))
                    continue
                if code in ("MessageRejected", "InvalidParameterValue", "MailFromDomainNotVerifiedException"):
                    self._journeys.note(contact_id, key, {"status": "rejected", "reason": message[:300]})
                    return ""
                self._journeys.release(contact_id, key)  # not sent: the step is tried again later
                raise
        self._journeys.release(contact_id, key)
        raise TryLater("SES kept throttling")
