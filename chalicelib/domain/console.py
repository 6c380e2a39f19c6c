"""Who may use the console, and for how long: roles, sessions, the password rules, audit entries.

A role is a Cognito group; each role may do what the roles below it may (`admin` > `marketer` >
`analyst`).  A session is known to the browser only by a random id in a cookie; the server keeps
the id's hash, so a copy of the table signs nobody in.  A session ends after a while without use
(idle) and, used or not, some hours after sign-in (absolute).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from .errors import BadInputError, ConflictError, NotFoundError

ROLES = ("analyst", "marketer", "admin")  # each may do everything the ones before it may
ADMIN_TOKEN = "admin-token"  # who a change was made by when the admin bearer token made it
_SECRET = re.compile(r"[A-Za-z0-9_-]{32,128}\Z")  # what new_secret() gives out, and nothing else


def role_of(groups: list[str] | set[str] | tuple[str, ...]) -> str | None:
    """The highest role among a user's groups; None when they have none of ours."""
    held = [ROLES.index(g) for g in groups if g in ROLES]
    return ROLES[max(held)] if held else None


def allows(role: str, needed: str) -> bool:
    """Whether `role` may do what `needed` may (an unknown role may do nothing)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def new_secret() -> str:
    """A session id, a CSRF token or a set-password step's id: 256 random bits."""
    return secrets.token_urlsafe(32)


def key_of(secret: str) -> str | None:
    """What the server keeps of a secret the browser holds (None for anything we never gave out)."""
    if not _SECRET.match(secret):
        return None
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def same_token(given: str | None, expected: str) -> bool:
    """A CSRF token compared in constant time."""
    return bool(given) and bool(expected) and hmac.compare_digest(str(given).encode(), expected.encode())


@dataclass(frozen=True)
class SessionRules:
    idle_seconds: int = 30 * 60
    absolute_seconds: int = 12 * 3600
    touch_seconds: int = 60  # a session's last use is written at most this often

    def ends_at(self, session: Session) -> float:
        return min(session.seen_at + self.idle_seconds, session.created_at + self.absolute_seconds)

    def alive(self, session: Session, now: float) -> bool:
        return now < self.ends_at(session)

    def needs_touch(self, session: Session, now: float) -> bool:
        return now - session.seen_at >= self.touch_seconds


@dataclass(frozen=True)
class Session:
    email: str
    role: str
    csrf: str
    created_at: float
    seen_at: float

    def seen(self, now: float) -> Session:
        return replace(self, seen_at=now)


@dataclass(frozen=True)
class Principal:
    """Who is acting: a signed-in person (with their session's CSRF token) or the admin token."""

    who: str
    role: str
    csrf: str | None = None  # None for the admin token: a machine's call carries no cookie to forge

    def may(self, needed: str) -> bool:
        return allows(self.role, needed)


@dataclass(frozen=True)
class Authenticated:
    """The user pool vouched for this person: their address and their groups."""

    email: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class PasswordChangeNeeded:
    """An admin created this user with a temporary password: they must choose their own first.
    `challenge` is the user pool's token for that step (short-lived; kept on the server)."""

    email: str
    challenge: str


class SignInRefusedError(BadInputError):
    """`reason`: refused (wrong address or password: the same answer for both), no_role,
    rate_limited, password_rejected (a new password the policy refuses), step_expired."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


REFUSED = "The email address or the password is not right."
CODE_WRONG = "That code is not right or has expired; ask for a new one."


@dataclass(frozen=True)
class Member:
    """Someone who may sign in to the console, as the user pool knows them."""

    email: str
    role: str | None  # None: in none of the console's groups (they cannot sign in)
    status: str  # the pool's: FORCE_CHANGE_PASSWORD (invited, not yet in), CONFIRMED, RESET_REQUIRED
    enabled: bool
    created_at: str  # ISO 8601

    def to_json(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "role": self.role,
            "status": self.status,
            "enabled": self.enabled,
            "created_at": self.created_at,
        }


class MemberExistsError(ConflictError):
    """An invitation for an address the pool has already."""


class NoSuchMemberError(NotFoundError):
    """A change for an address the pool does not have."""


# The template's PasswordPolicy (infra/template.yaml), so a refusal names the rule it broke.
PASSWORD_POLICY = {
    "MinimumLength": 12,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
}
_SYMBOLS = set("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")


def password_problems(password: str) -> list[str]:
    """What a new password lacks under the pool's policy (empty when it will do)."""
    problems = []
    if len(password) < PASSWORD_POLICY["MinimumLength"]:
        problems.append(f"at least {PASSWORD_POLICY['MinimumLength']} characters")
    if PASSWORD_POLICY["RequireUppercase"] and not re.search(r"[A-Z]", password):
        problems.append("an upper-case letter")
    if PASSWORD_POLICY["RequireLowercase"] and not re.search(r"[a-z]", password):
        problems.append("a lower-case letter")
    if PASSWORD_POLICY["RequireNumbers"] and not re.search(r"[0-9]", password):
        problems.append("a digit")
    if PASSWORD_POLICY["RequireSymbols"] and not _SYMBOLS & set(password):
        problems.append("a symbol such as ! or -")
    return problems


@dataclass(frozen=True)
class AuditEntry:
    """One change: who (an email, or `admin-token`), what (method, route, target), when, and for
    a definition its version before and after."""

    at: str  # ISO 8601, UTC
    who: str
    method: str
    route: str
    target: str = ""
    detail: dict[str, str] = field(default_factory=dict)

    @property
    def day(self) -> str:
        return self.at[:10]

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "who": self.who,
            "method": self.method,
            "route": self.route,
            "target": self.target,
            "detail": dict(self.detail),
        }


def iso(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
