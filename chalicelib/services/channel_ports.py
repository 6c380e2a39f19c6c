"""The ports of the channels besides mail (LINE, SMS), beside services/ports.py's: what the
webhooks, the account links and the sends need from LINE's API, SNS and their tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from chalicelib.domain.line_people import LineUser
    from chalicelib.domain.send_schedule import Lease


class LineApi(Protocol):
    """LINE's Messaging API as the webhooks' replies use it (ChannelError when LINE refuses)."""

    def issue_link_token(self, user_id: str) -> str: ...
    def push_text(self, user_id: str, text: str, retry_key: str) -> None:
        """A text to one user; the same `retry_key` again never delivers twice."""
        ...


class LinePeople(Protocol):
    """Who is who on LINE: the webhook events seen, each LINE user's permission and link, the
    nonces of account links under way, and the LINE attributes of contacts."""

    def first_delivery(self, event_id: str, expires_at: int) -> bool:
        """Claim a webhook event: False when it was claimed before (a redelivery, a replay)."""
        ...

    def forget_delivery(self, event_id: str) -> None:
        """Release a claim whose handling failed, so the redelivery is handled."""
        ...

    def set_permission(self, user_id: str, permission: str, at_ms: int) -> LineUser | None:
        """The user as now, or None when a newer event already said otherwise."""
        ...

    def keep_nonce(self, nonce: str, contact_id: str, expires_at: int) -> None: ...
    def take_nonce(self, nonce: str) -> tuple[str, int] | None:
        """The nonce's contact and expiry, gone once taken: of two uses, one gets it."""
        ...

    def spend(self, once: str, expires_at: int) -> bool:
        """Mark a single-use value spent: False when it was."""
        ...

    def link_user(self, user_id: str, contact_id: str) -> LineUser:
        """Link the LINE user to the contact; the user as they were before."""
        ...

    def link_contact(self, email: str, user_id: str, permission: str | None, at: str, at_ms: int = 0) -> None:
        """Link the contact to the LINE user, with the user's permission as of their newest event."""
        ...

    def unlink_contact(self, email: str, user_id: str) -> bool:
        """Remove the contact's LINE attributes if they are still this user's."""
        ...

    def contact_permission(
        self, email: str, user_id: str, permission: str, at: str, at_ms: int
    ) -> tuple[bool, str | None]:
        """Set the contact's LINE permission if they are still linked to this user and no newer
        event (LINE's timestamp, `at_ms`) set it since: whether it was set, and the permission
        it replaced."""
        ...


class LineMessaging(Protocol):
    """LINE's Messaging API, push to one user.

    Raises ChannelThrottledError (429, a 5xx, no answer: nothing known to be sent, and a retry
    with the same key is harmless) or ChannelRejectedError (400: this message never goes)."""

    def push(self, user_id: str, messages: list[dict[str, Any]], retry_key: str) -> str:
        """LINE's request id of the accepted push: the first request's when `retry_key` was
        accepted before (LINE's 409: sent once, not again)."""
        ...


class SmsGateway(Protocol):
    """Texts to phone numbers (E.164), and the carriers' opt-out list.

    `send` raises ChannelThrottledError or ChannelRejectedError as LineMessaging does."""

    def opted_out(self, number: str) -> bool: ...
    def send(self, number: str, text: str) -> str: ...


class ChannelLedger(Protocol):
    """What the LINE and SMS sends need beside the journeys table's ledger: a fleet-wide schedule
    of sends per channel, and taking over a claim whose claimant crashed mid-send."""

    def take(self, channel: str, want: int) -> Lease:
        """Up to `want` sends of the channel's shared schedule, each due at its own moment
        (domain/send_schedule.py), or none yet: when to ask again."""
        ...

    def reclaim(self, contact_id: str, key: str, claimed_at: str, at: str) -> bool:
        """Take over a claim still `claimed` since `claimed_at`: False when someone else did or it
        was finished meanwhile."""
        ...


class StoppedNumbers(Protocol):
    """The phone numbers whose owner replied STOP (停止...): no text goes to them again; and the
    people who may be texted at a number, whose SMS permission such a STOP takes back."""

    def stop(self, number: str, at: str, message_id: str) -> None: ...
    def stopped(self, number: str) -> bool: ...
    def texted_at(self, number: str) -> list[str]:
        """The addresses of the people who may be texted at an E.164 number (the people index)."""
        ...

    def withdraw(self, email: str, at: str) -> str | None:
        """Take back the person's SMS permission unless already taken back: their contact id when
        this did (None: it was withdrawn already, or they are gone)."""
        ...


class ShortLinkStore(Protocol):
    """The short codes of texts' tracked links, each standing for a signed click token until
    the token expires (domain/short_links.py)."""

    def keep(self, code: str, token: str, source: str, expires_at: int) -> bool:
        """Keep the code for `source`; the same source again replaces its own (a retried send
        renews it).  False when another source holds the code."""
        ...

    def find(self, code: str, now: float) -> str | None:
        """The code's token; None when the code is unknown or has expired."""
        ...
