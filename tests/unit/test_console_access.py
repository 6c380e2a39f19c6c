"""Who may use the console, over in-memory ports: roles, sessions that end when idle and in any
case after twelve hours, CSRF tokens, the admin token beside them, failed sign-ins held back,
the set-password step, and the audit log they all write to."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

from chalicelib.domain import console as rules
from chalicelib.domain.console import PASSWORD_POLICY, Principal, SignInRefusedError, key_of, same_token
from chalicelib.domain.errors import BadInputError
from chalicelib.services.audit import DAYS_PER_PAGE, AuditLog
from chalicelib.services.console import ChoosePassword, ConsoleAccess, SignedIn
from chalicelib.services.console_members import ConsoleMembers
from tests.fakes import FakeClock, MemoryConsoleTable, MemoryUsers

PASSWORD = "Correct-horse-9-battery"
TOKEN = "t" * 48
IP = "203.0.113.7"
TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.users = MemoryUsers()
        self.table = MemoryConsoleTable()
        self.audit = AuditLog(self.table, self.clock)
        self.members = ConsoleMembers(self.users, self.table, self.clock)
        self.access = ConsoleAccess(
            self.users, self.table, self.audit, self.members, self.clock, lambda: TOKEN
        )
        for role in ("admin", "marketer", "analyst"):
            self.users.add(f"{role}@example.jp", PASSWORD, role)

    def sign_in(self, email: str, password: str = PASSWORD, ip: str = IP) -> SignedIn:
        signed = self.access.sign_in(email, password, ip)
        assert isinstance(signed, SignedIn)
        return signed

    def minutes(self, n: float) -> None:
        self.clock.travel(n * 60)

    def entries(self) -> list[dict[str, object]]:
        return self.audit.page(200, None)["entries"]


@pytest.fixture
def world() -> World:
    return World()


def test_the_highest_group_is_the_role_and_each_role_may_do_what_those_below_may():
    assert rules.role_of(["analyst", "marketer"]) == "marketer"
    assert rules.role_of(("admin", "analyst")) == "admin"
    assert rules.role_of(["sales", "everyone"]) is None
    assert rules.role_of([]) is None
    ladder = {(role, needed): rules.allows(role, needed) for role in rules.ROLES for needed in rules.ROLES}
    assert [pair for pair, ok in ladder.items() if ok] == [
        ("analyst", "analyst"),
        ("marketer", "analyst"),
        ("marketer", "marketer"),
        ("admin", "analyst"),
        ("admin", "marketer"),
        ("admin", "admin"),
    ]
    assert not rules.allows("superuser", "analyst"), "a role we do not know may do nothing"


def test_a_session_is_kept_by_the_hash_of_its_secret_with_its_own_csrf_token(world):
    signed = world.sign_in("Marketer@Example.jp")
    (key,) = world.table.sessions
    assert key == key_of(signed.secret) and signed.secret not in key
    session = world.access.session(signed.secret)
    assert session and (session.email, session.role) == ("marketer@example.jp", "marketer")
    assert session.csrf and session.csrf != signed.secret
    assert signed.max_age == 12 * 3600
    other = world.sign_in("marketer@example.jp")
    assert other.secret != signed.secret and other.session.csrf != session.csrf


def test_a_session_ends_after_thirty_idle_minutes_and_each_use_starts_them_again(world):
    secret = world.sign_in("analyst@example.jp").secret
    world.minutes(29)
    assert world.access.session(secret) is not None
    world.minutes(29)
    assert world.access.session(secret) is not None, "58 minutes after sign-in, but used at 29"
    world.minutes(30)
    assert world.access.session(secret) is None, "30 minutes unused"
    assert world.table.sessions == {}, "an ended session is removed when it is next presented"


def test_a_session_ends_twelve_hours_after_sign_in_however_busy(world):
    secret = world.sign_in("analyst@example.jp").secret
    for _ in range(71):  # every ten minutes for 11 h 50 min
        world.minutes(10)
        assert world.access.session(secret) is not None
    world.minutes(10)
    assert world.access.session(secret) is None


def test_a_sessions_last_use_is_written_at_most_once_a_minute(world):
    secret = world.sign_in("analyst@example.jp").secret
    writes = world.table.writes
    for _ in range(30):  # thirty requests in fifteen seconds
        world.clock.travel(0.5)
        world.access.session(secret)
    assert world.table.writes == writes
    world.clock.travel(60)
    world.access.session(secret)
    assert world.table.writes == writes + 1
    (_, expires_at) = world.table.sessions[key_of(secret)]
    assert expires_at == math.ceil(world.clock() + 30 * 60), "the table lets it go 30 minutes after this use"


def test_anything_that_is_not_a_secret_we_gave_out_opens_nothing(world):
    world.sign_in("admin@example.jp")
    for given in (None, "", "x", "A" * 43, "../../etc", "é" * 43, "A" * 5000):
        assert world.access.session(given) is None
    assert key_of("not a secret; with spaces") is None


def test_the_csrf_token_must_be_the_sessions_own(world):
    csrf = world.sign_in("admin@example.jp").session.csrf
    assert same_token(csrf, csrf)
    for given in (None, "", csrf[:-1], csrf + "x", world.sign_in("admin@example.jp").session.csrf):
        assert not same_token(given, csrf)
    assert not same_token("", "")


def test_the_admin_token_acts_as_admin_and_a_wrong_one_is_no_one_even_with_a_cookie(world):
    secret = world.sign_in("analyst@example.jp").secret
    assert world.access.principal(f"Bearer {TOKEN}", None) == Principal("admin-token", "admin")
    assert world.access.principal("Bearer wrong", secret) is None
    assert world.access.principal(TOKEN, None) is None, "the scheme is part of it"
    assert world.access.principal("Basic dXNlcjpwYXNz", secret) is not None, (
        "a proxy's Basic header: the cookie"
    )
    found = world.access.principal(None, secret)
    assert found is not None and found.who == "analyst@example.jp" and found.csrf
    assert found.may("analyst") and not found.may("marketer")
    assert world.access.principal(None, None) is None


def test_a_wrong_password_and_an_unknown_address_are_refused_alike(world):
    answers = []
    for email, password in (("admin@example.jp", "Nope-nope-1"), ("ghost@example.jp", "Nope-nope-1")):
        with pytest.raises(SignInRefusedError) as refused:
            world.access.sign_in(email, password, IP)
        answers.append((refused.value.reason, str(refused.value)))
    assert answers[0] == answers[1] == ("refused", rules.REFUSED)
    for email, password in (
        ("not an address", PASSWORD),
        ("admin@example.jp", ""),
        ("admin@example.jp", "x" * 300),
    ):
        with pytest.raises(SignInRefusedError, match="not right"):
            world.access.sign_in(email, password, IP)


def test_five_failures_hold_back_that_address_from_that_network_address_for_the_window(world):
    calls = world.users.calls
    for _ in range(5):
        with pytest.raises(SignInRefusedError):
            world.access.sign_in("admin@example.jp", "Guess-1-guess", IP)
    with pytest.raises(SignInRefusedError) as held:
        world.access.sign_in("admin@example.jp", PASSWORD, IP)
    assert held.value.reason == "rate_limited" and "try again in" in str(held.value)
    assert world.users.calls == calls + 5, "held back before the user pool is asked"
    assert world.sign_in("admin@example.jp", ip="198.51.100.1"), "from elsewhere"
    assert world.sign_in("marketer@example.jp"), "another address from here"
    world.minutes(15)
    assert world.sign_in("admin@example.jp"), "the next window"


def test_an_account_in_none_of_our_groups_gets_no_session(world):
    world.users.add("sales@example.jp", PASSWORD, "sales")
    with pytest.raises(SignInRefusedError) as refused:
        world.access.sign_in("sales@example.jp", PASSWORD, IP)
    assert refused.value.reason == "no_role" and world.table.sessions == {}


def test_a_user_with_a_temporary_password_chooses_their_own_before_a_session(world):
    world.users.add("new@example.jp", "Temporary-pass-1", "marketer", temporary=True)
    step = world.access.sign_in("new@example.jp", "Temporary-pass-1", IP)
    assert isinstance(step, ChoosePassword) and world.table.sessions == {}
    assert step.step not in world.table.steps, "only the step's hash is kept"

    with pytest.raises(SignInRefusedError) as weak:
        world.access.choose_password(step.step, "password")
    assert weak.value.reason == "password_rejected"
    assert "at least 12 characters" in str(weak.value) and "a digit" in str(weak.value)

    signed = world.access.choose_password(step.step, PASSWORD)
    assert signed.session.role == "marketer"
    with pytest.raises(SignInRefusedError, match="expired"):
        world.access.choose_password(step.step, PASSWORD)
    assert world.sign_in("new@example.jp").session.email == "new@example.jp"


def test_a_set_password_step_expires_after_ten_minutes(world):
    world.users.add("new@example.jp", "Temporary-pass-1", "analyst", temporary=True)
    step = world.access.sign_in("new@example.jp", "Temporary-pass-1", IP)
    assert isinstance(step, ChoosePassword)
    world.minutes(10)
    with pytest.raises(SignInRefusedError) as late:
        world.access.choose_password(step.step, PASSWORD)
    assert late.value.reason == "step_expired"


def test_signing_out_ends_the_session_and_is_recorded(world):
    signed = world.sign_in("admin@example.jp")
    assert world.access.sign_out(signed.secret) == signed.session
    assert world.access.session(signed.secret) is None
    assert world.access.sign_out(signed.secret) is None, "twice is harmless"
    assert [(e["who"], e["route"], e["detail"]) for e in world.entries()] == [
        ("admin@example.jp", "/console/sign-out", {"role": "admin"}),
        ("admin@example.jp", "/console/sign-in", {"role": "admin"}),
    ]


def test_the_audit_log_reads_newest_first_across_days_with_a_cursor(world):
    for day in range(5):
        for n in range(3):
            world.audit.record("marketer@example.jp", "PUT", "/admin/definitions/{kind}", f"k{day}{n}")
            world.minutes(1)
        world.clock.travel(86400)
    seen, cursor = [], None
    for _ in range(20):
        page = world.audit.page(4, cursor)
        assert len(page["entries"]) <= 4
        seen += [e["target"] for e in page["entries"]]
        cursor = page["cursor"]
        if cursor is None:
            break
    assert seen == [f"k{day}{n}" for day in reversed(range(5)) for n in reversed(range(3))]


def test_a_page_of_the_audit_log_looks_back_a_bounded_number_of_days(world):
    world.audit.record("admin@example.jp", "DELETE", "/admin/contacts/{contact_id}", "c-1")
    world.clock.travel(86400 * (DAYS_PER_PAGE * 2 + 5))  # two quiet months since
    first = world.audit.page(10, None)
    assert first["entries"] == [] and first["cursor"], "a quiet stretch is walked page by page"
    second = world.audit.page(10, first["cursor"])
    third = world.audit.page(10, second["cursor"])
    assert [e["target"] for e in second["entries"] + third["entries"]] == ["c-1"]
    assert third["cursor"] is None
    for bad in ("bm9wZQ", "W10=", "WyIyMDI2LTEzLTQwIiwgbnVsbF0=", "!!"):
        with pytest.raises(BadInputError):
            world.audit.page(10, bad)


def test_an_audit_entry_says_when_in_utc():
    world = World()
    entry = world.audit.record("admin-token", "POST", "/admin/jobs/{job}", "tick")
    assert entry.at == "2026-11-23T01:00:00.000Z" and entry.day == "2026-11-23"
    assert datetime.fromisoformat(entry.at.replace("Z", "+00:00")).tzinfo == UTC


def test_the_password_rules_are_the_user_pools_own():
    pool = cfn_yaml.loads(TEMPLATE.read_text())["Resources"]["UserPool"]["Properties"]
    declared = dict(pool["Policies"]["PasswordPolicy"])
    declared.pop("TemporaryPasswordValidityDays")
    assert declared == PASSWORD_POLICY
    assert rules.password_problems(PASSWORD) == []
    assert rules.password_problems("correct-horse-9-battery") == ["an upper-case letter"]
