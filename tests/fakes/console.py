"""In-memory twins of the console's ports: the user pool (UserDirectory) and the console table
(ConsoleSessions and AuditTrail)."""

from __future__ import annotations

import copy
import itertools

from chalicelib.domain import console as rules
from chalicelib.domain.console import (
    CODE_WRONG,
    REFUSED,
    AuditEntry,
    Authenticated,
    Member,
    MemberExistsError,
    NoSuchMemberError,
    PasswordChangeNeeded,
    Session,
    SignInRefusedError,
    password_problems,
)


class MemoryUsers:
    """A user pool: address -> password, groups, and whether the password is a temporary one."""

    def __init__(self) -> None:
        self.passwords: dict[str, str] = {}
        self.groups: dict[str, tuple[str, ...]] = {}
        self.temporary: set[str] = set()
        self.challenges: dict[str, str] = {}  # challenge -> address
        self.disabled: set[str] = set()
        self.codes: dict[str, str] = {}  # address -> the reset code mailed
        self.mailed: list[tuple[str, str]] = []  # (address, what the pool mailed: a code or a password)
        self.calls = 0
        self._ids = itertools.count(1)

    def add(self, email: str, password: str, *groups: str, temporary: bool = False) -> None:
        self.passwords[email] = password
        self.groups[email] = groups
        if temporary:
            self.temporary.add(email)

    def sign_in(self, email: str, password: str) -> Authenticated | PasswordChangeNeeded:
        self.calls += 1
        if self.passwords.get(email) != password or email in self.disabled:
            raise SignInRefusedError("refused", REFUSED)
        if email in self.temporary:
            challenge = f"challenge-{next(self._ids)}"
            self.challenges[challenge] = email
            return PasswordChangeNeeded(email, challenge)
        return Authenticated(email, self.groups[email])

    def choose_password(self, email: str, new_password: str, challenge: str) -> Authenticated:
        if self.challenges.pop(challenge, None) != email:
            raise SignInRefusedError("step_expired", "This step has expired.")
        if password_problems(new_password):
            raise SignInRefusedError("password_rejected", "The user pool refused the new password.")
        self.passwords[email] = new_password
        self.temporary.discard(email)
        return Authenticated(email, self.groups[email])

    def forgot(self, email: str) -> None:
        if email in self.passwords and email not in self.temporary and email not in self.disabled:
            self.codes[email] = f"{100000 + next(self._ids)}"
            self.mailed.append((email, self.codes[email]))

    def reset(self, email: str, code: str, new_password: str) -> None:
        if email not in self.codes or self.codes[email] != code:
            raise SignInRefusedError("code_wrong", CODE_WRONG)
        del self.codes[email]
        self.passwords[email] = new_password

    def members(self) -> list[Member]:
        return [self._member(email) for email in sorted(self.passwords)]

    def invite(self, email: str, role: str) -> Member:
        if email in self.passwords:
            raise MemberExistsError(f"{email} has an account already.")
        self.add(email, f"Temp-{next(self._ids)}-Pass!", role, temporary=True)
        self.mailed.append((email, self.passwords[email]))
        return self._member(email)

    def set_role(self, email: str, role: str) -> None:
        self._known(email)
        self.groups[email] = (role,)

    def set_enabled(self, email: str, enabled: bool) -> None:
        self._known(email)
        (self.disabled.discard if enabled else self.disabled.add)(email)

    def _known(self, email: str) -> None:
        if email not in self.passwords:
            raise NoSuchMemberError("The user pool has no account with that address.")

    def _member(self, email: str) -> Member:
        status = "FORCE_CHANGE_PASSWORD" if email in self.temporary else "CONFIRMED"
        role = rules.role_of(self.groups[email])
        return Member(email, role, status, email not in self.disabled, "2026-11-01T00:00:00+00:00")


class MemoryConsoleTable:
    """Sessions, steps and failure counters by key (with their TTL), and the audit log by day."""

    def __init__(self) -> None:
        self.sessions: dict[str, tuple[Session, int]] = {}
        self.steps: dict[str, tuple[PasswordChangeNeeded, int]] = {}
        self.counts: dict[str, int] = {}
        self.writes = 0
        self.audit: dict[str, list[AuditEntry]] = {}  # day -> entries in the order written
        self.first: str | None = None
        self.cuts: dict[str, float] = {}

    def put(self, key: str, session: Session, expires_at: int) -> None:
        self.writes += 1
        self.sessions[key] = (session, expires_at)

    def get(self, key: str) -> Session | None:
        found = self.sessions.get(key)
        return found[0] if found else None

    def touch(self, key: str, seen_at: float, expires_at: int) -> None:
        if key in self.sessions:  # a signed-out session stays gone
            self.writes += 1
            self.sessions[key] = (self.sessions[key][0].seen(seen_at), expires_at)

    def delete(self, key: str) -> None:
        self.sessions.pop(key, None)

    def keep_step(self, key: str, step: PasswordChangeNeeded, expires_at: int) -> None:
        self.steps[key] = (step, expires_at)

    def step(self, key: str, now: float) -> PasswordChangeNeeded | None:
        found = self.steps.get(key)
        return found[0] if found and found[1] > now else None

    def drop_step(self, key: str) -> None:
        self.steps.pop(key, None)

    def failures(self, who: str, window_seconds: int, now: float) -> int:
        return self.counts.get(f"{who}#{int(now) // window_seconds}", 0)

    def fail(self, who: str, window_seconds: int, now: float) -> int:
        key = f"{who}#{int(now) // window_seconds}"
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key]

    def cut_off(self, email: str, at: float) -> None:
        self.cuts[email] = at

    def cut_of(self, email: str) -> float | None:
        return self.cuts.get(email)

    def append(self, entry: AuditEntry) -> None:
        self.audit.setdefault(entry.day, []).append(copy.deepcopy(entry))
        self.first = self.first or entry.day

    def first_day(self) -> str | None:
        return self.first

    def day(self, day: str, limit: int, after: str | None) -> tuple[list[AuditEntry], str | None]:
        newest_first = list(reversed(self.audit.get(day, [])))
        start = int(after) if after else 0
        taken = newest_first[start : start + limit]
        end = start + len(taken)
        return taken, str(end) if len(taken) == limit else None  # as DynamoDB's LastEvaluatedKey
