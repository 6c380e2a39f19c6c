"""The composition root's builders for the console: who acts in it or in the admin API, and the
figures it shows.  Part of the one root (bootstrap/__init__.py re-exports them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import clock
from chalicelib.bootstrap import _client, _secret, contact_state, settings
from chalicelib.parts import once

if TYPE_CHECKING:
    from chalicelib.services.console import ConsoleAccess
    from chalicelib.services.figures import Figures


@once
def console() -> ConsoleAccess:
    """Who acts in the console or the admin API: a user pool sign-in and its session, or the token."""
    from chalicelib.aws.cognito import CognitoUsers
    from chalicelib.domain.console import SessionRules
    from chalicelib.services.audit import AuditLog
    from chalicelib.services.console import ConsoleAccess
    from chalicelib.services.console_members import ConsoleMembers
    from chalicelib.store.console import ConsoleTable

    s = settings()
    users = CognitoUsers(_client("cognito-idp"), s.user_pool_id, s.user_pool_client_id)
    table = ConsoleTable(_client("dynamodb"), s.console_table)  # the sessions and the audit log
    rules = SessionRules(s.console_idle_minutes * 60, s.console_session_hours * 3600)
    token, members = _secret(s.admin_token_secret).get, ConsoleMembers(users, table, clock.now)
    return ConsoleAccess(users, table, AuditLog(table, clock.now), members, clock.now, token, rules)


@once
def figures() -> Figures:
    """The console's counters, kept in the console table as the streams deliver."""
    from chalicelib.services.figures import Figures
    from chalicelib.store.figures import FigureBook
    from chalicelib.store.people_index import PeopleIndexTable

    db, s = _client("dynamodb"), settings()
    index = PeopleIndexTable(db, s.people_index_table)
    return Figures(FigureBook(db, s.console_table), index, contact_state(), clock.now, s.sms_country)
