"""Bearer tokens and signed tokens, compared in constant time.

A signed token is `base64url(JSON claims).base64url(HMAC-SHA256)`; the claims
carry `exp` (epoch seconds).  What it proves depends on whose key signed it:
Sodate's link key (a click in a Sodate email) or a site's own secret (its
backend vouching for a logged-in visitor).  Every token Sodate signs with its
link key is for one purpose, told by its exact set of claims; a token is
accepted only for its own purpose (an unsubscribe token is no identity).
"""

from __future__ import annotations

import base64
import hmac
import json
import os
from typing import Any

from .errors import BadInputError
from .limits import TOKEN_CHARS

MAX_TOKEN_CHARS = TOKEN_CHARS


class InvalidTokenError(BadInputError):
    """`reason`: malformed, bad_signature or expired."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"The token is {reason.replace('_', ' ')}.")
        self.reason = reason


def bearer_matches(authorization: str | None, expected: str) -> bool:
    if not authorization or not expected:
        return False
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode("utf-8"), expected.encode("utf-8"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: str, body: str) -> bytes:
    return hmac.digest(key.encode("utf-8"), body.encode("ascii"), "sha256")  # one-shot: no HMAC object


_compact = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode  # built once, not per token


def sign(claims: dict[str, Any], key: str, expires_at: int) -> str:
    body = _b64(_compact({**claims, "exp": expires_at}).encode())
    return f"{body}.{_b64(_mac(key, body))}"


IDENTITY = frozenset({"c", "n"})  # who the browser belongs to: a contact id, and a nonce (used once)
BROWSER_IDENTITY = frozenset({"c", "n", "v"})  # the same, for one browser only (the one that signed up)
CLICK = frozenset({"m", "u"})  # a tracked link: the mail and the destination
OPEN = frozenset({"m"})  # the open pixel: the mail
UNSUBSCRIBE = frozenset({"unsub"})  # the unsubscribe link: the mail
UNSUBSCRIBE_TOPIC = frozenset({"unsub", "t"})  # the same, for a mail about a topic: the topic alone is left
PREFERENCES = frozenset({"pref"})  # the preference page's link in every mail: the mail
CONFIRM = frozenset({"s"})  # the confirmation link of a form's sign-up: the kept submission
FORM_START = frozenset({"f", "t"})  # a form page as served: the form, and when it was served
LINE_LINK = frozenset({"lc", "lt", "n"})  # link LINE to a contact: the contact, LINE's link token, once


def identity_token(contact_id: str, key: str, expires_at: int) -> str:
    """A link's identity token: it identifies one browser, once (its nonce is spent on use)."""
    return sign({"c": contact_id, "n": os.urandom(9).hex()}, key, expires_at)


def verify(
    token: Any, key: str, now: float, purpose: frozenset[str] | tuple[frozenset[str], ...] | None = None
) -> dict[str, Any]:
    """The claims of a token signed with `key` and not expired; with `purpose` (or purposes), exactly
    those claims, each a non-empty text (InvalidTokenError 'for another purpose' otherwise)."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise InvalidTokenError("malformed")
    body, signature = token.split(".")
    try:
        given = _unb64(signature)
        body.encode("ascii")
    except (ValueError, UnicodeEncodeError):
        raise InvalidTokenError("malformed") from None
    if not hmac.compare_digest(given, _mac(key, body)):
        raise InvalidTokenError("bad_signature")
    try:
        claims = json.loads(_unb64(body))
    except ValueError:
        raise InvalidTokenError("malformed") from None
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int):
        raise InvalidTokenError("malformed")
    if claims["exp"] < now:
        raise InvalidTokenError("expired")
    purposes = (purpose,) if isinstance(purpose, frozenset) else purpose
    if purposes is not None and (
        set(claims) - {"exp"} not in purposes
        or not all(isinstance(claims[c], str) and claims[c] for c in set(claims) - {"exp"})
    ):
        raise InvalidTokenError("for_another_purpose")
    return claims
