"""Signing in to the console, staying signed in, signing out.

The user pool checks the address and the password; the session is ours: a random id that only
the browser holds (its hash is kept, with the person, their role and a CSRF token), ended by an
idle and an absolute limit.  Failed sign-ins are counted per address and network address, so a
password cannot be guessed at speed; an unknown address and a wrong password get one answer.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from chalicelib.domain.console import (
    ADMIN_TOKEN,
    CODE_WRONG,
    REFUSED,
    Authenticated,
    PasswordChangeNeeded,
    Principal,
    Session,
    SessionRules,
    SignInRefusedError,
    key_of,
    new_secret,
    password_problems,
    role_of,
)
from chalicelib.domain.emails import InvalidEmailError, normalize_email
from chalicelib.domain.tokens import bearer_matches
from chalicelib.domain.values import plain_digits
from chalicelib.services.audit import AuditLog
from chalicelib.services.console_members import ConsoleMembers
from chalicelib.services.console_ports import ConsoleSessions, UserDirectory
from chalicelib.services.ports import Clock, Secret

FAILURES_ALLOWED = 5  # failed sign-ins per address and network address ...
FAILURE_WINDOW = 15 * 60  # ... in this many seconds
STEP_SECONDS = (
    10 * 60
)  # a set-password step lives as long as the pool's sign-in session (AuthSessionValidity)
MAX_PASSWORD = 256


@dataclass(frozen=True)
class SignedIn:
    secret: str  # the cookie's value: given to this browser once, never stored
    session: Session
    max_age: int  # how long the cookie may live: the absolute limit


@dataclass(frozen=True)
class ChoosePassword:
    """Signed in with a temporary password: the person chooses their own before going on."""

    step: str  # the step's secret, carried by the set-password form
    email: str


class ConsoleAccess:
    def __init__(
        self,
        users: UserDirectory,
        sessions: ConsoleSessions,
        audit: AuditLog,
        members: ConsoleMembers,
        clock: Clock,
        admin_token: Secret,
        rules: SessionRules | None = None,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self.audit = audit  # sign-ins and sign-outs are in it, and every change (web/console_access.py)
        self.members = members  # who may sign in, managed by an admin
        self._clock = clock
        self._admin_token = admin_token
        self.rules = rules or SessionRules()

    def principal(self, authorization: str | None, secret: str | None) -> Principal | None:
        """Who is acting: the admin bearer token (when a Bearer token is sent, it alone counts)
        or the session the cookie's secret opens; None when neither holds."""
        if authorization is not None and authorization.strip()[:7].lower() == "bearer ":
            return (
                Principal(ADMIN_TOKEN, "admin")
                if bearer_matches(authorization, self._admin_token())
                else None
            )
        session = self.session(secret)
        return Principal(session.email, session.role, session.csrf) if session else None

    def sign_in(self, email: str, password: str, ip: str) -> SignedIn | ChoosePassword:
        """Raises SignInRefusedError: refused, rate_limited, no_role."""
        now = self._clock()
        address = _address(email)
        attempt = hashlib.sha256(f"{address}|{ip}".encode()).hexdigest()
        self._not_too_many(attempt, now)
        try:
            if not address or not password or len(password) > MAX_PASSWORD:
                raise SignInRefusedError("refused", REFUSED)
            answer = self._users.sign_in(address, password)
        except SignInRefusedError as error:
            if error.reason == "refused":
                self._sessions.fail(attempt, FAILURE_WINDOW, now)
            raise
        if isinstance(answer, PasswordChangeNeeded):
            step = new_secret()
            self._sessions.keep_step(_key(step), answer, int(now) + STEP_SECONDS)
            return ChoosePassword(step, answer.email)
        return self._open(answer)

    def choose_password(self, step: str, new_password: str) -> SignedIn:
        """The set-password step: raises SignInRefusedError step_expired, password_rejected, no_role."""
        key = key_of(step)
        found = self._sessions.step(key, self._clock()) if key else None
        if key is None or found is None:
            raise SignInRefusedError(
                "step_expired", "This step has expired; sign in again with the temporary password."
            )
        _check_new(new_password)
        try:
            authenticated = self._users.choose_password(found.email, new_password, found.challenge)
        except SignInRefusedError as error:
            if error.reason == "step_expired":
                self._sessions.drop_step(key)
            raise
        self._sessions.drop_step(key)
        self.audit.record(found.email, "POST", "/console/set-password")
        return self._open(authenticated)

    def forgot(self, email: str) -> None:
        """The pool mails a reset code if the address has an account; the answer is the same."""
        address = _address(email)
        if address:
            self._users.forgot(address)

    def reset(self, email: str, code: str, new_password: str, ip: str) -> None:
        """A forgotten password set again with the mailed code; every session of the person ends.
        Raises SignInRefusedError: code_wrong, password_rejected, rate_limited, busy."""
        now = self._clock()
        address = _address(email)
        attempt = hashlib.sha256(f"reset|{address}|{ip}".encode()).hexdigest()
        self._not_too_many(attempt, now)
        _check_new(new_password)
        try:
            if not address or not plain_digits(code.strip()) or len(code.strip()) > 12:
                raise SignInRefusedError("code_wrong", CODE_WRONG)
            self._users.reset(address, code.strip(), new_password)
        except SignInRefusedError as error:
            if error.reason == "code_wrong":
                self._sessions.fail(attempt, FAILURE_WINDOW, now)
            raise
        self._sessions.cut_off(address, now)
        self.audit.record(address, "POST", "/console/reset")

    def session(self, secret: str | None) -> Session | None:
        """The live session this secret opens, its last use noted; None when there is none."""
        key = key_of(secret) if secret else None
        found = self._sessions.get(key) if key else None
        if key is None or found is None:
            return None
        now = self._clock()
        if not self.rules.alive(found, now) or _cut(self._sessions.cut_of(found.email), found):
            self._sessions.delete(key)
            return None
        if self.rules.needs_touch(found, now):
            found = found.seen(now)
            self._sessions.touch(key, now, math.ceil(self.rules.ends_at(found)))
        return found

    def sign_out(self, secret: str | None) -> Session | None:
        """End the session (the one it was, or None when there was none)."""
        found = self.session(secret)
        key = key_of(secret) if secret else None
        if key is not None:
            self._sessions.delete(key)
        if found is not None:
            self.audit.record(found.email, "POST", "/console/sign-out", detail={"role": found.role})
        return found

    def _not_too_many(self, attempt: str, now: float) -> None:
        if self._sessions.failures(attempt, FAILURE_WINDOW, now) >= FAILURES_ALLOWED:
            minutes = math.ceil((FAILURE_WINDOW - now % FAILURE_WINDOW) / 60)
            raise SignInRefusedError(
                "rate_limited",
                f"Too many failed attempts for this address from here; try again in {minutes} minutes.",
            )

    def _open(self, person: Authenticated) -> SignedIn:
        role = role_of(person.groups)
        if role is None:
            raise SignInRefusedError(
                "no_role",
                "This account has no console role (admin, marketer or analyst); ask an admin to give it one.",
            )
        now = self._clock()
        secret = new_secret()
        session = Session(person.email, role, new_secret(), now, now)
        self._sessions.put(_key(secret), session, math.ceil(self.rules.ends_at(session)))
        self.audit.record(person.email, "POST", "/console/sign-in", detail={"role": role})
        return SignedIn(secret, session, self.rules.absolute_seconds)


def _check_new(new_password: str) -> None:
    """A new password the pool's policy would refuse is refused here first, rule by rule."""
    problems = password_problems(new_password)
    if problems or len(new_password) > MAX_PASSWORD:
        needs = ", ".join(problems) if problems else f"at most {MAX_PASSWORD} characters"
        raise SignInRefusedError("password_rejected", f"The new password needs {needs}.")


def _cut(cut: float | None, session: Session) -> bool:
    """The person's role changed, their account was switched off or their password reset since
    this session began."""
    return cut is not None and session.created_at <= cut


def _key(secret: str) -> str:
    key = key_of(secret)
    assert key is not None, "new_secret() gives out only what key_of() takes"
    return key


def _address(email: str) -> str:
    """The address as the pool knows it ('' for one that cannot be anyone's: refused the same way)."""
    try:
        return normalize_email(email[:320])
    except InvalidEmailError:
        return ""
