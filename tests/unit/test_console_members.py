"""Who may use the console, managed by an admin over in-memory ports -- an invitation, a role
changed, an account switched off, each ending the person's sessions at once -- and a forgotten
password set again with the mailed code."""

from __future__ import annotations

import pytest

from chalicelib.domain.console import MemberExistsError, NoSuchMemberError, SignInRefusedError
from chalicelib.domain.errors import BadInputError, ConflictError
from chalicelib.services.console import ChoosePassword
from tests.unit.test_console_access import IP, PASSWORD, World

NEW = "Another-Pass-42!"


@pytest.fixture
def world() -> World:
    return World()


def test_an_invited_person_gets_a_temporary_password_and_chooses_their_own(world: World):
    member = world.members.invite({"email": " Yuki@Example.JP ", "role": "marketer"})
    assert member == {
        "email": "yuki@example.jp",
        "role": "marketer",
        "status": "FORCE_CHANGE_PASSWORD",
        "enabled": True,
        "created_at": member["created_at"],
    }
    (address, temporary), *_ = world.users.mailed
    assert address == "yuki@example.jp"
    step = world.access.sign_in("yuki@example.jp", temporary, IP)
    assert isinstance(step, ChoosePassword)
    assert world.access.choose_password(step.step, NEW).session.role == "marketer"
    listed = {m["email"]: m for m in world.members.listing()["users"]}
    assert (
        listed["yuki@example.jp"]["status"] == "CONFIRMED" and listed["admin@example.jp"]["role"] == "admin"
    )


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"email": "not-an-address", "role": "analyst"}, "email must be an email address"),
        ({"email": "a@example.jp", "role": "owner"}, "role must be one of analyst, marketer, admin"),
        ({"email": "a@example.jp"}, "role must be one of"),
    ],
)
def test_an_invitation_names_what_is_wrong(world: World, body: dict[str, str], problem: str):
    with pytest.raises(BadInputError, match=problem):
        world.members.invite(body)


def test_an_address_with_an_account_is_not_invited_twice(world: World):
    with pytest.raises(MemberExistsError, match="has an account already"):
        world.members.invite({"email": "analyst@example.jp", "role": "admin"})


def test_a_new_role_ends_the_sessions_and_holds_from_the_next_sign_in(world: World):
    signed = world.sign_in("marketer@example.jp")
    assert world.access.principal(None, signed.secret) is not None
    world.minutes(1)
    changed = world.members.change("marketer@example.jp", {"role": "analyst"}, "admin@example.jp")
    assert changed == {"email": "marketer@example.jp", "role": "analyst"}
    assert world.access.principal(None, signed.secret) is None, "the marketer's session ends at once"
    world.minutes(1)
    again = world.sign_in("marketer@example.jp")
    assert again.session.role == "analyst"
    assert world.access.principal(None, again.secret) is not None


def test_a_switched_off_account_cannot_sign_in_until_switched_on(world: World):
    signed = world.sign_in("analyst@example.jp")
    world.minutes(1)
    world.members.change("analyst@example.jp", {"enabled": False}, "admin@example.jp")
    assert world.access.principal(None, signed.secret) is None
    with pytest.raises(SignInRefusedError, match="not right"):
        world.access.sign_in("analyst@example.jp", PASSWORD, IP)
    assert {m["email"]: m["enabled"] for m in world.members.listing()["users"]}["analyst@example.jp"] is False
    world.members.change("analyst@example.jp", {"enabled": True}, "admin@example.jp")
    world.minutes(1)
    assert world.sign_in("analyst@example.jp").session.role == "analyst"


@pytest.mark.parametrize("body", [{"enabled": False}, {"role": "analyst"}])
def test_a_change_that_fails_half_way_still_ends_the_persons_sessions(world: World, body: dict[str, object]):
    """Cognito switched the account off (or took the old group away), then its next call was
    refused (its admin calls are throttled low): the admin is told it failed, and the cookie
    the person holds no longer acts with what they had."""
    signed = world.sign_in("marketer@example.jp")
    world.minutes(1)
    done = {"enabled": world.users.set_enabled, "role": world.users.set_role}[next(iter(body))]

    def half_way(email: str, value: object) -> None:
        done(email, value)  # type: ignore[arg-type]
        raise RuntimeError("TooManyRequestsException")

    setattr(world.users, f"set_{'role' if 'role' in body else 'enabled'}", half_way)
    with pytest.raises(RuntimeError):
        world.members.change("marketer@example.jp", body, "admin@example.jp")
    assert world.access.principal(None, signed.secret) is None


@pytest.mark.parametrize(
    ("email", "body", "problem"),
    [
        ("admin@example.jp", {"enabled": False}, "your own account"),
        ("Admin@Example.jp", {"role": "analyst"}, "your own account"),
        ("analyst@example.jp", {}, "Send role and/or enabled"),
        ("analyst@example.jp", {"password": "x"}, "not \\['password'\\]"),
        ("analyst@example.jp", {"enabled": "no"}, "enabled must be true or false"),
        ("analyst@example.jp", {"role": "root"}, "role must be one of"),
    ],
)
def test_a_change_names_what_is_wrong(world: World, email: str, body: dict[str, object], problem: str):
    with pytest.raises(BadInputError, match=problem):
        world.members.change(email, body, "admin@example.jp")


def test_the_last_admin_who_can_sign_in_stays_one_until_there_is_another(world: World):
    token = "admin token"  # who calls with the admin bearer token: no member
    for change in ({"role": "marketer"}, {"enabled": False}):
        with pytest.raises(BadInputError, match="is the last admin"):
            world.members.change("admin@example.jp", change, token)
    world.members.change("marketer@example.jp", {"role": "admin"}, token)

    world.members.change("admin@example.jp", {"role": "analyst"}, token)

    assert {m["email"]: m["role"] for m in world.members.listing()["users"]}["admin@example.jp"] == "analyst"
    with pytest.raises(BadInputError, match=r"marketer@example\.jp is the last admin"):
        world.members.change("marketer@example.jp", {"enabled": False}, token)


def test_two_admins_who_demote_each_other_at_the_same_moment_leave_one_admin(world: World):
    world.members.change("marketer@example.jp", {"role": "admin"}, "admin@example.jp")
    listing, raced = world.users.members, []

    def members_as_the_other_admin_acts() -> object:
        found = listing()
        if not raced:  # between this request's look and its write, the other one runs whole
            raced.append("admin@example.jp")
            world.members.change("admin@example.jp", {"enabled": False}, "marketer@example.jp")
        return found

    world.users.members = members_as_the_other_admin_acts  # type: ignore[method-assign]
    with pytest.raises(ConflictError, match="changed at the same moment"):
        world.members.change("marketer@example.jp", {"role": "analyst"}, "admin@example.jp")

    world.users.members = listing  # type: ignore[method-assign]
    after = {m["email"]: (m["role"], m["enabled"]) for m in world.members.listing()["users"]}
    assert raced and after["admin@example.jp"] == ("admin", False), "the other change stood"
    assert after["marketer@example.jp"] == ("admin", True), "this one was undone: an admin is left"


def test_a_change_for_an_unknown_address_is_not_found(world: World):
    with pytest.raises(NoSuchMemberError):
        world.members.change("nobody@example.jp", {"role": "analyst"}, "admin@example.jp")


def test_a_forgotten_password_is_set_again_with_the_mailed_code_and_old_sessions_end(world: World):
    old = world.sign_in("analyst@example.jp")
    world.minutes(1)
    world.access.forgot("Analyst@Example.jp")
    world.access.forgot("nobody@example.jp")  # the same answer; nothing is mailed
    assert [address for address, _ in world.users.mailed] == ["analyst@example.jp"]
    code = world.users.mailed[0][1]
    with pytest.raises(SignInRefusedError, match="needs") as weak:
        world.access.reset("analyst@example.jp", code, "short", IP)
    assert weak.value.reason == "password_rejected"
    world.access.reset("analyst@example.jp", code, NEW, IP)
    assert world.access.principal(None, old.secret) is None, "a reset ends the sessions opened before"
    world.minutes(1)
    assert world.sign_in("analyst@example.jp", NEW).session.role == "analyst"
    with pytest.raises(SignInRefusedError) as reused:
        world.access.reset("analyst@example.jp", code, "Yet-Another-Pass-7", IP)
    assert reused.value.reason == "code_wrong", "a code works once"
    assert [e["route"] for e in world.entries()][:2] == ["/console/sign-in", "/console/reset"]


def test_guessing_reset_codes_is_held_back(world: World):
    world.access.forgot("marketer@example.jp")
    for guess in range(5):
        with pytest.raises(SignInRefusedError) as wrong:
            world.access.reset("marketer@example.jp", f"{guess:06d}", NEW, IP)
        assert wrong.value.reason == "code_wrong"
    code = world.users.mailed[-1][1]
    with pytest.raises(SignInRefusedError) as held:
        world.access.reset("marketer@example.jp", code, NEW, IP)
    assert held.value.reason == "rate_limited", "even the right code waits once five were wrong"
    for typed in ("", "12ab56", "1" * 40):
        with pytest.raises(SignInRefusedError):
            world.access.reset("analyst@example.jp", typed, NEW, IP)
