"""In-memory twins of the console's ports: the user pool (UserDirectory) and the console table
(ConsoleSessions and AuditTrail)."""

from __future__ import annotations

import copy
import itertools

from chalicelib.domain.console import (
    REFUSED,
    AuditEntry,
    Authenticated,
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
        self.calls = 0
        self._ids = itertools.count(1)

    def add(self, email: str, password: str, *groups: str, temporary: bool = False) -> None:
        self.passwords[email] = password
        self.groups[email] = groups
        if temporary:
            self.temporary.add(email)

    def sign_in(self, email: str, password: str) -> Authenticated | PasswordChangeNeeded:
        self.calls += 1
        if self.passwords.get(email) != password:
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


class MemoryConsoleTable:
    """Sessions, steps and failure counters by key (with their TTL), and the audit log by day."""

    def __init__(self) -> None:
        self.sessions: dict[str, tuple[Session, int]] = {}
        self.steps: dict[str, tuple[PasswordChangeNeeded, int]] = {}
        self.counts: dict[str, int] = {}
        self.writes = 0
        self.audit: dict[str, list[AuditEntry]] = {}  # day -> entries in the order written
        self.first: str | None = None

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
