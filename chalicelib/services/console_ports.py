"""The console's ports: the user pool, its sessions and audit log, its counters and the people
index behind them (what services/console.py, audit.py, console_members.py and figures.py need)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from chalicelib.domain.console import AuditEntry, Authenticated, Member, PasswordChangeNeeded, Session
    from chalicelib.domain.figures import Fact


class UserDirectory(Protocol):
    """The user pool: whether an address and password are someone's, and their groups.

    Raises SignInRefusedError (refused -- the same for an unknown address and a wrong password --
    password_rejected, step_expired)."""

    def sign_in(self, email: str, password: str) -> Authenticated | PasswordChangeNeeded: ...
    def choose_password(self, email: str, new_password: str, challenge: str) -> Authenticated: ...
    def forgot(self, email: str) -> None:
        """Mail a reset code when the address has an account (nothing said either way)."""
        ...

    def reset(self, email: str, code: str, new_password: str) -> None:
        """SignInRefusedError code_wrong (whatever the reason), password_rejected, busy."""
        ...

    def members(self) -> list[Member]: ...
    def invite(self, email: str, role: str) -> Member:
        """A new account in the role; the pool mails its temporary password.  MemberExistsError."""
        ...

    def set_role(self, email: str, role: str) -> None:
        """NoSuchMemberError for an address without an account (set_enabled too)."""
        ...

    def set_enabled(self, email: str, enabled: bool) -> None: ...


class ConsoleSessions(Protocol):
    """Sessions and set-password steps by the hash of the browser's secret, and sign-in failures."""

    def put(self, key: str, session: Session, expires_at: int) -> None: ...
    def get(self, key: str) -> Session | None: ...
    def touch(self, key: str, seen_at: float, expires_at: int) -> None: ...
    def delete(self, key: str) -> None: ...
    def keep_step(self, key: str, step: PasswordChangeNeeded, expires_at: int) -> None: ...
    def step(self, key: str, now: float) -> PasswordChangeNeeded | None:
        """The set-password step, unless it is gone or past its time."""
        ...

    def drop_step(self, key: str) -> None: ...
    def failures(self, who: str, window_seconds: int, now: float) -> int:
        """How many sign-ins failed for `who` in the current window."""
        ...

    def fail(self, who: str, window_seconds: int, now: float) -> int: ...
    def cut_off(self, email: str, at: float) -> None:
        """Sessions of this person begun at or before `at` no longer count."""
        ...

    def cut_of(self, email: str) -> float | None: ...


class AuditTrail(Protocol):
    """The audit log: appended, never rewritten, kept by day."""

    def append(self, entry: AuditEntry) -> None: ...
    def first_day(self) -> str | None:
        """The day of the oldest entry (None when nothing was ever recorded)."""
        ...

    def day(self, day: str, limit: int, after: str | None) -> tuple[list[AuditEntry], str | None]:
        """A day's entries newest first, from after the position `after`; the next position."""
        ...


class FigureBook(Protocol):
    """The console's counters: per-day series, gauges, each day's hot leads."""

    def add(self, batch: str, counts: dict[tuple[str, str], Decimal], moves: dict[str, int]) -> int:
        """Add to (series, day) counters and move gauges; a counter that already took `batch`
        (a stream batch handed over again) is left alone.  How many counters changed."""
        ...

    def note_hot(self, leads: Iterable[Fact], expires_at: int) -> None: ...
    def series(self, names: Iterable[str], first: str, last: str) -> dict[str, dict[str, Decimal]]: ...
    def gauges(self) -> dict[str, int]: ...
    def hot(self, day: str, limit: int) -> list[dict[str, str]]: ...


class PeopleIndex(Protocol):
    """Who is in each grid cell and under which names (domain/people_index.py): entries are
    (partition, sort key) pairs."""

    def apply(self, puts: Iterable[tuple[str, str]], deletes: Iterable[tuple[str, str]]) -> None: ...
    def starting(self, partitions: list[str], prefix: str, limit: int) -> list[str]:
        """The first `limit` sort keys starting with `prefix` in any of the partitions, sorted."""
        ...

    def page(self, partitions: list[str], limit: int, cursor: str | None) -> tuple[list[str], str | None]:
        """Sort keys partition after partition; a cursor while any are left."""
        ...
