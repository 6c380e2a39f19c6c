"""Use case: LINE inbound -- webhooks from LINE, and the account link that joins a LINE user to a
contact we already know.

A webhook is read only when signed with the channel secret (domain/line_webhooks.py).  Each event
is claimed by its webhookEventId before it is acted on, so a redelivery or a replayed body changes
nothing; a claim whose handling failed is released, so LINE's redelivery is handled.  follow and
unfollow give and take back LINE permission; a STOP / 停止 reply takes it back too.  A LINE user
not yet linked is offered the link when they follow and when they write 連携 / link: LINE issues
a link token, and the bot sends them to our page, which links only a person who shows a token we
signed for them (from a mail): it issues a single-use nonce bound to that contact and sends them
on to LINE's account-link dialog.  LINE's accountLink event, result ok, with a nonce we issued,
unexpired and unused, links the LINE user to that contact -- the only way `line_user_id` is set.
"""

from __future__ import annotations

import html
import logging
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from chalicelib.domain import line_webhooks
from chalicelib.domain.consent import LINE, Change, ConsentEntry
from chalicelib.domain.emails import InvalidEmailError, email_hash, normalize_email
from chalicelib.domain.errors import (
    BadInputError,
    ChannelError,
    NotFoundError,
    OutcomeUnknownError,
    TooManyError,
)
from chalicelib.domain.hits import truncate_ip
from chalicelib.domain.line_people import (
    EVENT_MEMORY_DAYS,
    GRANTED,
    LINE_USER_ID,
    NONCE_SECONDS,
    WITHDRAWN,
    LineUser,
    asks_to_link,
    valid_link_token,
)
from chalicelib.domain.line_webhooks import LineEvent
from chalicelib.domain.mail.message import MailRejectedError, MailThrottledError, Sender, build_message
from chalicelib.domain.mail.templates import Rendered
from chalicelib.domain.replies import asks_to_stop
from chalicelib.domain.tokens import LINE_LINK, InvalidTokenError, sign, verify
from chalicelib.services.channel_ports import LineApi, LinePeople
from chalicelib.services.consent import ConsentRecords
from chalicelib.services.ports import Clock, ContactRepository, MailTransport, Secret, WindowCounts

log = logging.getLogger("sodate.line")
OFFER = "会員アカウントとLINEを連携すると、お知らせをLINEでお届けします。\nLink your account: {url}"
# Link mails asked for on our page, fleet-wide (count, seconds): a LINE user's link token or one
# network that asks for many addresses is told to wait; one address gets no more than a few.
PER_LINK_TOKEN = (5, 600)
PER_IP = (10, 600)
PER_ADDRESS = (3, 3600)


class LineInbound:
    def __init__(
        self,
        people: LinePeople,
        contacts: ContactRepository,
        consent: ConsentRecords,
        api: LineApi,
        channel_secret: Secret,
        link_key: Secret,
        clock: Clock,
        mail: tuple[MailTransport, str, str],  # the mail service, our sender, our API's public URL
        dialog: str,  # LINE's account-link dialog
        counts: WindowCounts,
    ) -> None:
        self._people = people
        self._contacts = contacts
        self._consent = consent
        self._api = api
        self._secret = channel_secret
        self._key = link_key
        self._clock = clock
        self._transport, self._sender, self._public_url = mail
        self._dialog = dialog
        self._counts = counts

    # --- webhooks ----------------------------------------------------------------------------------
    def receive(self, body: bytes, signature: str | None) -> dict[str, int]:
        """BadSignatureError (nothing read) or BadInputError (signed, but not a webhook body)."""
        handled = repeated = 0
        for event in line_webhooks.events(self._secret(), body, signature):
            if not self._people.first_delivery(event.event_id, self._epoch() + EVENT_MEMORY_DAYS * 86400):
                repeated += 1
                continue
            try:
                self._handle(event)
            except Exception:
                self._people.forget_delivery(event.event_id)  # LINE's redelivery gets another go
                raise
            handled += 1
        return {"handled": handled, "repeated": repeated}

    def _handle(self, event: LineEvent) -> None:
        if event.kind == "follow":
            user = self._permission(event, GRANTED)
            if user is not None and not self._linked_contact(user):
                self._offer_link(event)
        elif event.kind == "unfollow" or (event.kind == "message" and asks_to_stop(event.text)):
            self._permission(event, WITHDRAWN)
        elif event.kind == "message" and asks_to_link(event.text):
            self._offer_link(event)
        elif event.kind == "accountLink":
            self._account_link(event)

    def _permission(self, event: LineEvent, permission: str) -> LineUser | None:
        """The LINE user's permission, and their contact's if linked (None: an older event)."""
        user = self._people.set_permission(event.user_id, permission, event.at_ms)
        contact = self._linked_contact(user) if user is not None else None
        if contact is None:
            return user
        # written even when it reads the same: the event's time on the contact keeps an older
        # event handled at the same moment from writing over it
        written, was = self._people.contact_permission(
            contact["email"], event.user_id, permission, self._iso(), event.at_ms
        )
        if written and was != permission:
            self._record(
                contact["contact_id"], permission, {"event": _why(event), LINE_USER_ID: event.user_id}
            )
        return user

    def _linked_contact(self, user: LineUser) -> dict[str, Any] | None:
        """The contact the user linked to, while that contact is still linked to them."""
        contact = self._contacts.by_id(user.contact_id) if user.contact_id else None
        return contact if contact is not None and contact.get(LINE_USER_ID) == user.user_id else None

    def _offer_link(self, event: LineEvent) -> None:
        """LINE's link token, and our page's address, pushed to the user: once per event (the
        retry key is the event's).  LINE being away loses only the offer: they can ask again."""
        try:
            token = self._api.issue_link_token(event.user_id)
            url = f"{self._public_url}/line/link?{urlencode({'linkToken': token})}"
            retry_key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"line-offer:{event.event_id}"))
            self._api.push_text(event.user_id, OFFER.format(url=url), retry_key)
        except ChannelError as error:
            log.warning("line_link_offer_failed %s", error)

    def _account_link(self, event: LineEvent) -> None:
        if not event.linked:
            return  # LINE refused the link (not the owner of the token): nothing is joined
        taken = self._people.take_nonce(event.nonce)
        if taken is None or taken[1] < self._epoch():
            log.warning("line_link_refused unknown, used or expired nonce")
            return
        contact = self._contacts.by_id(taken[0])
        if contact is None:
            return  # erased since the link began
        before = self._people.link_user(event.user_id, contact["contact_id"])
        if before.contact_id and before.contact_id != contact["contact_id"]:
            self._unlink(before)
        permission = GRANTED if before.permission == GRANTED else None
        self._people.link_contact(contact["email"], event.user_id, permission, self._iso(), before.at_ms)
        had = contact.get("line_permission") == GRANTED
        if permission and not had:
            self._record(
                contact["contact_id"], GRANTED, {"event": "accountLink", LINE_USER_ID: event.user_id}
            )
        elif had and not permission:  # linked now to a LINE user who does not follow: LINE is off
            old = str(contact.get(LINE_USER_ID) or "")
            self._record(contact["contact_id"], WITHDRAWN, {"event": "relinked", LINE_USER_ID: old})

    def _unlink(self, before: LineUser) -> None:
        """The LINE user linked to someone else now: their old contact no longer reaches them."""
        old = self._linked_contact(before)
        if old is None or not self._people.unlink_contact(old["email"], before.user_id):
            return
        if old.get("line_permission") == GRANTED:
            self._record(old["contact_id"], WITHDRAWN, {"event": "relinked", LINE_USER_ID: before.user_id})

    # --- our link page -------------------------------------------------------------------------------
    def mail_link(self, link_token: Any, email: Any, ip: str = "") -> None:
        """The page LINE's offer leads to asks who the person is; we believe no one's word for it
        but mail the link to the address, if we know it: the mail's link carries a token for that
        contact and this link token, alive as long as LINE's.  Nothing tells whether we knew it.
        TooManyError when this link token or network asked for too many just now."""
        if not valid_link_token(link_token):
            raise BadInputError("linkToken: the link from LINE is incomplete; ask the LINE account again.")
        try:
            address = normalize_email(str(email or ""))
        except InvalidEmailError as error:
            raise BadInputError(f"email: {error.reason}") from None
        moment = self._clock()
        for what, (most, window) in (
            (f"line-token#{email_hash(str(link_token))}", PER_LINK_TOKEN),
            (f"line-ip#{truncate_ip(ip)}", PER_IP),
        ):
            if self._counts.count(what, window, moment) > most:
                raise TooManyError(
                    "Too many link mails asked for just now; please try again in a few minutes."
                )
        if self._counts.count(f"line-to#{email_hash(address)}", PER_ADDRESS[1], moment) > PER_ADDRESS[0]:
            return  # a mail box is not flooded with link mails, and the page says what it always says
        contact, suppressed = self._contacts.for_sending(address)
        if contact is None or suppressed:
            return
        claims = {"lc": str(contact["contact_id"]), "lt": str(link_token), "n": secrets.token_hex(9)}
        token = sign(claims, self._key(), self._epoch() + NONCE_SECONDS)
        url = f"{self._public_url}/line/link?{urlencode({'t': token})}"
        sender = Sender("Sodate", self._sender, "")
        now = datetime.fromtimestamp(self._clock(), UTC)
        raw = build_message(sender, address, link_mail(url), None, now, {"X-Sodate-Mail": "line-link"})
        try:
            self._transport.send_raw(address, raw)
        except (MailThrottledError, MailRejectedError, OutcomeUnknownError) as error:
            log.warning("line_link_mail_failed %s", error)  # the page says the same: ask again

    def who(self, token: Any) -> dict[str, Any]:
        """Whom the mailed link would link (the page shows it; nothing changes on a GET)."""
        claims = verify(token, self._key(), self._clock(), LINE_LINK)
        contact = self._contacts.by_id(str(claims["lc"]))
        if contact is None:
            raise NotFoundError("This person is no longer known to us.")
        return contact

    def begin_link(self, token: Any) -> str:
        """The person confirmed: the mailed token is spent, a nonce bound to them is kept
        (single use, NONCE_SECONDS), and LINE's account-link dialog completes the link."""
        contact = self.who(token)
        claims = verify(token, self._key(), self._clock(), LINE_LINK)
        if not self._people.spend(str(claims["n"]), int(claims["exp"])):
            raise InvalidTokenError("used")
        nonce = secrets.token_urlsafe(24)  # 192 bits; LINE asks for at least 128, hard to guess
        self._people.keep_nonce(nonce, contact["contact_id"], self._epoch() + NONCE_SECONDS)
        return f"{self._dialog}?{urlencode({'linkToken': claims['lt'], 'nonce': nonce})}"

    # --- helpers ---------------------------------------------------------------------------------------
    def _record(self, contact_id: str, permission: str, detail: dict[str, str]) -> None:
        change = Change.GRANTED if permission == GRANTED else Change.WITHDRAWN
        entry = ConsentEntry(self._iso(), change, "line", "person", permission, detail, channel=LINE)
        self._consent.record(contact_id, entry)

    def _epoch(self) -> int:
        return int(self._clock())

    def _iso(self) -> str:
        return datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="seconds")


def _why(event: LineEvent) -> str:
    return "stop reply" if event.kind == "message" else event.kind


def link_mail(url: str) -> Rendered:
    text = (
        "LINEとの連携のご依頼を受けました。10分以内に次のリンクを開いてください。\n"
        "You asked to link your LINE account; open this link within 10 minutes:\n\n"
        f"{url}\n\nお心当たりがなければ、このメールは破棄してください。 If it was not you, ignore this mail."
    )
    link = html.escape(url)
    body = f'<p>LINEとの連携 / Link your LINE account</p><p><a href="{link}">連携する / Link</a></p>'
    return Rendered("LINE連携のご確認 / Link your LINE account", body, text)
