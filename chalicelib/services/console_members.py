"""Who may use the console, managed by an admin: the members with their roles and state, an
invitation (the user pool mails the temporary password), a role changed, an account switched
off or on.  A change ends the person's sessions at once, so a demoted admin or a switched-off
account keeps no rights it had; nobody changes their own account here, and the last admin who
can sign in stays one (so no slip, nor the admin token, leaves the console without an admin)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.domain.console import ROLES, Member
from chalicelib.domain.emails import InvalidEmailError, normalize_email
from chalicelib.domain.errors import BadInputError, ConflictError
from chalicelib.services.console_ports import ConsoleSessions, UserDirectory
from chalicelib.services.ports import Clock


class ConsoleMembers:
    def __init__(self, users: UserDirectory, sessions: ConsoleSessions, clock: Clock) -> None:
        self._users = users
        self._sessions = sessions
        self._clock = clock

    def listing(self) -> dict[str, Any]:
        return {"users": [m.to_json() for m in self._users.members()], "roles": list(ROLES)}

    def invite(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """{"email", "role"}: a new account; MemberExistsError for an address that has one."""
        email, role = _address(body.get("email")), _role(body.get("role"))
        return self._users.invite(email, role).to_json()

    def change(self, email: str, body: Mapping[str, Any], by: str) -> dict[str, Any]:
        """{"role"} and/or {"enabled"} for someone else's account; NoSuchMemberError."""
        address = _address(email)
        if address == by:
            raise BadInputError("You cannot change your own account; ask another admin.")
        unknown = sorted(set(body) - {"role", "enabled"})
        if unknown or not body:
            raise BadInputError(f"Send role and/or enabled{f', not {unknown}' if unknown else ''}.")
        if "enabled" in body and not isinstance(body["enabled"], bool):
            raise BadInputError("enabled must be true or false.")
        role = _role(body["role"]) if "role" in body else None
        takes_an_admin = role not in (None, "admin") or body.get("enabled") is False
        before = {m.email: m for m in self._users.members()}
        if takes_an_admin and _admins(before.values()) == {address}:
            raise BadInputError(f"{address} is the last admin; make someone else an admin first.")
        try:
            self._apply(address, role, body.get("enabled"))
            if takes_an_admin and not _admins(self._users.members()) and address in before:
                # another admin took the other admin away at the same moment: ours is undone, so
                # whichever way the two interleave one admin is left
                was = before[address]
                self._apply(address, was.role if role else None, was.enabled if "enabled" in body else None)
                raise ConflictError("The admins changed at the same moment; look at the list and try again.")
        finally:  # even a change that failed half way: signed in again, they get what they now have
            self._sessions.cut_off(address, self._clock())
        return {
            "email": address,
            **({"role": role} if role else {}),
            **{k: body[k] for k in ("enabled",) if k in body},
        }

    def _apply(self, address: str, role: str | None, enabled: Any) -> None:
        if role is not None:
            self._users.set_role(address, role)
        if enabled is not None:
            self._users.set_enabled(address, bool(enabled))


def _admins(members: Iterable[Member]) -> set[str]:
    """The admins who can still sign in (the admin token is no person: without one of them nobody
    could manage the console from it)."""
    return {m.email for m in members if m.role == "admin" and m.enabled}


def _address(value: Any) -> str:
    try:
        return normalize_email(str(value or "")[:320])
    except InvalidEmailError:
        raise BadInputError(f"email must be an email address, not {str(value)[:60]!r}.") from None


def _role(value: Any) -> str:
    if value not in ROLES:
        raise BadInputError(f"role must be one of {', '.join(ROLES)}, not {str(value)[:40]!r}.")
    return str(value)
