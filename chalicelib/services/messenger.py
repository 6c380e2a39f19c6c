"""A send step on LINE or SMS (or on the first channel a person is on), exactly once.

In order:
1. the person is read afresh and the step's channels are tried in order: the first the person
   is on and allows is taken (chalicelib/domain/channels.py); email is handed to the Mailer,
   which claims and checks consent as it always has;
2. the ledger key is claimed, as for a mail.  A claim found `claimed` and older than
   `STALE_S` on LINE is one whose sender crashed after or before LINE took the push: it is
   taken over and pushed again with the same retry key, and LINE's 409 says it went -- counted
   as sent, delivered once.  (An SMS claim is never taken over: SNS has no retry key, so a crash
   there leaves the text sent at most once.)
3. the send takes its place under the one frequency cap, beside every mail to the person;
4. the message is rendered (the templates' sandbox; links as the same signed click tokens as
   mail's -- in a text, as a short link standing for the token, services/short_links.py) and
   sent at its moment in the fleet's schedule for the channel (domain/send_schedule.py) -- a
   worker waits up to `MAX_WAIT_S` for one; a 429 (or no moment in time) gives the claim and
   the cap's place back and the step waits for the next tick: nothing lost, nothing sent twice;
5. the ledger records the channel's id for the message.

A text goes out as its step says, promotional (the default) or transactional: `sms` sends the
first, `transactional_sms` the second (each gateway knows its type and the sender per country,
aws/sms_voice.py).  A number the SMS service refuses as opted out is not on SMS: the claim and
the cap's place are given back and the step goes on the next channel the person is on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.channel_messages import ChannelPlan
from chalicelib.domain.channels import (
    ChannelOptedOutError,
    ChannelRejectedError,
    ChannelThrottledError,
    Reach,
    choose,
    retry_key,
)
from chalicelib.domain.definitions.mailing import Mailing
from chalicelib.domain.errors import OutcomeUnknownError
from chalicelib.domain.journeys import Action
from chalicelib.domain.mail.cap import Cap
from chalicelib.domain.mail.templates import TemplateError
from chalicelib.domain.send_schedule import Lease, Slots
from chalicelib.domain.tokens import sign
from chalicelib.services.channel_ports import ChannelLedger, LineMessaging, SmsGateway
from chalicelib.services.mailer import LINK_DAYS, Mailer, Sent
from chalicelib.services.ports import Clock, ContactRepository, JourneyRepository

if TYPE_CHECKING:
    from chalicelib.services.short_links import ShortLinks

STALE_S = 30  # a LINE claim unfinished this long lost its sender (a push: 2 tries of 10 s at most)
MAX_WAIT_S = 2.0  # for a send's moment in the channel's schedule, before the step waits a tick
LEASE = 120  # sends asked of the fleet's schedule at a time, at most (it grants 50 ms of them)
REFILL_S = 0.03  # the next lease is taken when what is in hand runs out within this long


class RefusingSms:
    """The SMS gateway while its setting is wrong: every text fails, its reason naming what is
    wrong (the step's ledger and report say so), and the rest of a scenario goes on."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def opted_out(self, number: str) -> bool:
        return False

    def send(self, number: str, text: str) -> str:
        raise ChannelRejectedError(self._reason)


class Messenger:
    def __init__(
        self,
        line: LineMessaging,
        sms: SmsGateway,
        ledger: ChannelLedger,
        journeys: JourneyRepository,
        contacts: ContactRepository,
        mailer: Mailer,
        wall: Clock,
        sleep: Callable[[float], None] = time.sleep,
        country: str = "JP",
        *,
        transactional_sms: SmsGateway | None = None,
        short_links: ShortLinks | None = None,
    ) -> None:
        """Without `short_links` a text's links are the signed tokens, as in a mail."""
        self._line = line
        self._sms = sms
        self._transactional = transactional_sms or sms
        self._short = short_links
        self._ledger = ledger
        self._journeys = journeys
        self._contacts = contacts
        self._mailer = mailer
        self._links = mailer.links  # the API's address and the link-signing key, as for mail
        self._wall = wall
        self._sleep = sleep
        self._country = country
        self._lock = threading.Lock()
        self._refused: set[str] = set()  # numbers the SMS service refused as opted out, this run
        self._slots: dict[str, Slots] = {}  # channel -> the sends in hand, each at its moment
        self._refilling: set[str] = set()  # channels whose next lease a thread is taking now
        self._not_before: dict[str, float] = {}  # no lease to ask for before then (the schedule said)

    def send(
        self,
        action: Action,
        plan: ChannelPlan,
        contact: dict[str, Any],
        mailing: Mailing,
        now: datetime,
        branch: str,
        cap: Cap | None = None,
    ) -> Sent:
        fresh, _ = self._contacts.for_sending(contact["email"])
        if fresh is None:  # erased meanwhile: the mailer says so once, as for any mail
            return self._mailer.send(action, contact, mailing, now, branch, cap)
        reach = choose(plan.channels, fresh, self._opted_out, self._country)
        if reach is not None and reach.channel == "email":
            email = Action(action.kind, action.step, plan.template, action.key, action.scenario)
            return self._mailer.send(email, contact, mailing, now, branch, cap)
        contact_id, at = contact["contact_id"], now.isoformat(timespec="seconds")
        fields = {"kind": "send", "status": "claimed", "scenario": action.scenario, "step": action.step}
        fields |= {"channel": reach.channel if reach else "none", "at": at} | (
            {"branch": branch} if branch else {}
        )
        taken_over = False
        if not self._journeys.claim(contact_id, action.key, fields):
            if reach is None or reach.channel != "line" or not self._take_over(contact_id, action.key, now):
                return Sent("duplicate")
            taken_over = True  # its place under the cap was taken by the crashed sender
        if reach is None:
            self._journeys.note(contact_id, action.key, {"status": "no_channel"})
            return Sent("no_channel")
        moment = now.timestamp()
        if not taken_over and not self._journeys.reserve_mail_time(contact_id, moment, cap):
            self._journeys.release(contact_id, action.key)
            return Sent("capped", channel=reach.channel)
        try:
            sent_id = self._deliver(action, plan, reach, fresh, now)
        except ChannelOptedOutError:  # known now: the person is not on SMS; the next channel
            if not taken_over:
                self._journeys.free_mail_time(contact_id, moment)
            self._journeys.release(contact_id, action.key)
            with self._lock:
                self._refused.add(reach.address)
            return self.send(action, plan, contact, mailing, now, branch, cap)
        except OutcomeUnknownError as lost:  # the text may have gone: never again (LINE's retry key
            # makes a LINE push safe to repeat, so only a text is ever unknown)
            self._journeys.note(contact_id, action.key, {"status": "unknown", "reason": str(lost), "at": at})
            return Sent("unknown", channel=reach.channel)
        except (ChannelRejectedError, TemplateError, ValueError) as error:
            if not taken_over:
                self._journeys.free_mail_time(contact_id, moment)
            self._journeys.note(contact_id, action.key, {"status": "failed", "reason": str(error)[:300]})
            return Sent("failed", channel=reach.channel)
        except Exception:  # throttled, or the channel unreachable: the step is tried again later
            if not taken_over:
                self._journeys.free_mail_time(contact_id, moment)
            self._journeys.release(contact_id, action.key)
            raise
        self._journeys.note(contact_id, action.key, {"status": "sent", "sent_at": at, "message_id": sent_id})
        return Sent("sent", sent_id, reach.channel)

    def _opted_out(self, number: str) -> bool:
        with self._lock:
            if number in self._refused:
                return True
        return self._sms.opted_out(number)

    def _take_over(self, contact_id: str, key: str, now: datetime) -> bool:
        found = self._journeys.action(contact_id, key) or {}
        if found.get("channel") != "line" or found.get("status") != "claimed":
            return False
        try:
            claimed = datetime.fromisoformat(found.get("at", ""))
        except ValueError:
            return False
        if (now - claimed).total_seconds() < STALE_S:
            return False  # another worker is sending it now
        return self._ledger.reclaim(contact_id, key, found["at"], now.isoformat(timespec="seconds"))

    def _deliver(
        self, action: Action, plan: ChannelPlan, reach: Reach, contact: dict[str, Any], now: datetime
    ) -> str:
        if reach.channel == "line" and plan.line is not None:
            message = plan.line.render(contact, self._tracker(action.key, now))
            self._token("line")
            return self._line.push(reach.address, [message], retry_key(action.key))
        if reach.channel == "sms" and plan.sms is not None:
            text = plan.sms.render(contact, self._tracker(action.key, now, short=True))
            self._token("sms")
            gateway = self._transactional if plan.sms.sms_type == "transactional" else self._sms
            return gateway.send(reach.address, text)
        raise ValueError(f"the step has no {reach.channel} message")

    def _tracker(self, key: str, now: datetime, short: bool = False) -> Callable[[str], str]:
        """A link as mail writes it: through `<api>/c/<token>`, the token signed per person; or
        (`short`, for a text) a short link standing for that token, as long as it lasts."""
        signing, expires = self._links.key(), int(now.timestamp()) + LINK_DAYS * 86400

        def link(url: str) -> str:
            token = sign({"m": key, "u": url}, signing, expires)
            if short and self._short is not None:
                return self._short.shorten(signing, key, url, token, expires)
            return f"{self._links.api}/c/{token}"

        return link

    def _token(self, channel: str) -> None:
        """Wait for this send's moment in the channel's fleet-wide schedule (a little: past
        MAX_WAIT_S the step waits for the next tick).  One thread takes the next lease when what
        is in hand runs out within REFILL_S, while the others spend what is left."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._wall()  # once a send: this is every send's path
                slots = self._slots.setdefault(channel, Slots())
                wait = slots.take(now)
                not_before = self._not_before.get(channel, 0.0)
                refill = (
                    channel not in self._refilling
                    and now >= not_before
                    and slots.held_until() - now < REFILL_S
                )
                if refill:
                    self._refilling.add(channel)
            if refill:
                self._refill(channel)
            if wait == 0.0:
                return
            if refill:
                continue  # what it took may be due now
            if waited >= MAX_WAIT_S:
                raise ChannelThrottledError(f"no {channel} send free in the fleet's schedule")
            pause = min(wait if wait is not None else max(not_before - now, 0.002), MAX_WAIT_S - waited)
            self._sleep(pause)
            waited += pause

    def _refill(self, channel: str) -> None:
        """Take the next lease (outside the lock: the schedule is a remote call)."""
        lease = Lease(0, 0.0, 0.0)
        try:
            lease = self._ledger.take(channel, LEASE)
        finally:
            with self._lock:
                self._refilling.discard(channel)
                self._not_before[channel] = 0.0 if lease.sends else lease.start
                self._slots[channel].add(lease)
