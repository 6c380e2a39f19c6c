"""Short links in texts: made when an SMS is rendered, followed at `GET /s/<code>`.

A text's tracked link is `<base>/s/<code>` (domain/short_links.py), the code kept in the journeys
table standing for the signed click token mail would carry, until that token expires.  A click
on it is the click on the token: the same checks, the same redirect, the same counts
(services/mail_events.py).  An unknown, expired or malformed code is a link we did not make.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.domain.short_links import ATTEMPTS, code_for, is_code, source_of
from chalicelib.domain.tokens import InvalidTokenError
from chalicelib.services.channel_ports import ShortLinkStore
from chalicelib.services.ports import Clock

if TYPE_CHECKING:  # the sender's side (the runner) needs none of the clicks' services
    from chalicelib.services.mail_events import MailEvents


class ShortLinkTakenError(RuntimeError):
    """Every code of a link's sequence is held by another link (the store is not what it seems):
    the send is tried again later."""


class ShortLinks:
    def __init__(self, store: ShortLinkStore, base: str, clock: Clock) -> None:
        self._store = store
        self._base = base.rstrip("/")
        self._clock = clock

    def shorten(self, signing_key: str, ledger_key: str, url: str, token: str, expires_at: int) -> str:
        """The short link for `token` (the click on `url` in the send `ledger_key`): the same link
        on every retry of the send."""
        source = source_of(ledger_key, url)
        for attempt in range(ATTEMPTS):
            code = code_for(signing_key, ledger_key, url, attempt)
            if self._store.keep(code, token, source, expires_at):
                return f"{self._base}/s/{code}"
        raise ShortLinkTakenError(f"no short code free for a link of {ledger_key.split('#', 1)[-1]}")

    def token(self, code: str) -> str:
        """The click token a code stands for; InvalidTokenError when there is none."""
        if not is_code(code):
            raise InvalidTokenError("malformed")
        token = self._store.find(code, self._clock())
        if token is None:
            raise InvalidTokenError("expired")  # or never made: the page says the same
        return token


class ShortLinkClicks:
    """`GET /s/<code>`: where to send the browser, the click recorded as the token's would be."""

    def __init__(self, links: ShortLinks, events: MailEvents) -> None:
        self._links = links
        self._events = events

    def clicked(self, code: str, user_agent: str, method: str) -> str:
        return self._events.clicked(self._links.token(code), user_agent, method)
