"""Who may use the console, for admins: `GET /admin/users` (the members, their roles and state),
`POST /admin/users {"email", "role"}` (an invitation: the user pool mails the temporary
password), `PUT /admin/users/{email} {"role"?, "enabled"?}` (a new role, or the account switched
off or on; the person's sessions end at once).  Each change is in the audit log."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, ConflictError, Response

from chalicelib.web import console_access, requests

member_routes = Blueprint(__name__)
NO_STORE: dict[str, str | list[str]] = {"Cache-Control": "no-store"}


def _request() -> Any:
    return member_routes.current_request


@member_routes.route("/admin/users", methods=["GET"])
def members() -> Response:
    console_access.require_console(_request(), "admin")
    from chalicelib import bootstrap

    return Response(bootstrap.console().members.listing(), headers=NO_STORE)


@member_routes.route("/admin/users", methods=["POST"], content_types=["application/json"])
def invite() -> Response:
    request = _request()
    console_access.require_console(request, "admin")
    from chalicelib import bootstrap
    from chalicelib.domain.console import MemberExistsError

    body = requests.json_object(request)
    try:
        member = requests.answer(bootstrap.console().members.invite, body)
    except MemberExistsError as error:
        raise ConflictError(str(error)) from None
    console_access.note_change(request, email=member["email"], role=member["role"])
    return Response(member, status_code=201, headers=NO_STORE)


@member_routes.route("/admin/users/{email}", methods=["PUT"], content_types=["application/json"])
def change(email: str) -> Response:
    request = _request()
    who = console_access.require_console(request, "admin").who
    from chalicelib import bootstrap

    body = requests.json_object(request)
    changed = requests.answer(bootstrap.console().members.change, email, body, who)
    console_access.note_change(request, **{k: str(v).lower() for k, v in changed.items()})
    return Response(changed, headers=NO_STORE)
