"""Who may call the console and the admin API, and the audit entry of every change they make.

`require_console(request, role)` lets in the admin bearer token (machines: every right) or a
session cookie whose role is at least `role`; a change (POST, PUT, DELETE) made with a cookie
also needs the session's CSRF token, in the `X-CSRF-Token` header or a form's `csrf_token`
field.  The middleware `audit_changes` then records each change that succeeded: who, the
method, the route and its target, and what the route noted (a definition's versions).

Which role each /admin route needs is said where the route is (app.py, definition_routes.py,
mail_routes.py) and in the README's table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import ForbiddenError, Request, UnauthorizedError

from chalicelib.web import requests

if TYPE_CHECKING:
    from chalicelib.domain.console import Principal

COOKIE = "sodate_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
READS = frozenset({"GET", "HEAD", "OPTIONS"})
_PRINCIPAL = "sodate.principal"  # where the request keeps who was let in, for the audit entry
_NOTED = "sodate.noted"
_UNCHANGED = "sodate.unchanged"  # a request that used a change's method but changed nothing
_FORM = "application/x-www-form-urlencoded"
_MAX_FORM_KIB = 64


def cookie(request: Request | None, name: str = COOKIE) -> str | None:
    """A cookie's value (the first of that name), or None."""
    header = (request.headers.get("cookie") if request else None) or ""
    for part in header[:8192].split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value.strip().strip('"')
    return None


def session_cookie(secret: str, max_age: int) -> str:
    return f"{COOKIE}={secret}; Max-Age={max_age}; Path=/; HttpOnly; Secure; SameSite=Strict"


def cleared_cookie() -> str:
    return f"{COOKIE}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Strict"


def form_fields(request: Request | None) -> dict[str, str]:
    """A form post's fields (the first value of each); {} for any other body."""
    content_type = ((request.headers.get("content-type") if request else None) or "").split(";")[0]
    if not request or content_type.strip().lower() != _FORM:
        return {}
    pairs = requests.form_fields(request.raw_body, _MAX_FORM_KIB, 50)
    return {key: values[0] for key, values in pairs.items()}


def principal(request: Request | None) -> Principal | None:
    """Who the request comes from (the token or a live session), without checking a role."""
    from chalicelib import bootstrap

    authorization = request.headers.get("authorization") if request else None
    return bootstrap.console().principal(authorization, cookie(request))


def require_console(request: Request | None, role: str) -> Principal:
    """The caller, when they may act as `role`; else 401 (nobody) or 403 (too low a role, or a
    change without the session's CSRF token)."""
    found = principal(request)
    if request is None or found is None:
        raise UnauthorizedError(
            "Sign in to the console (a session cookie), or send 'Authorization: Bearer <admin token>'."
        )
    if not found.may(role):
        raise ForbiddenError(f"The {found.role} role may not do this; it needs {role} or above.")
    if found.csrf is not None and request.method not in READS and not csrf_matches(request, found.csrf):
        raise ForbiddenError(
            f"A change needs the session's CSRF token in the X-CSRF-Token header (or the form's "
            f"{CSRF_FIELD} field); GET /console/me gives it."
        )
    request.context[_PRINCIPAL] = found
    return found


def csrf_matches(request: Request, expected: str) -> bool:
    from chalicelib.domain.console import same_token

    given = request.headers.get(CSRF_HEADER) or form_fields(request).get(CSRF_FIELD)
    return same_token(given, expected)


def note_change(request: Request | None, **detail: str) -> None:
    """What the audit entry of this change should say besides who, the route and its target."""
    if request is not None:
        request.context.setdefault(_NOTED, {}).update(detail)


def nothing_changed(request: Request | None) -> None:
    """This request changed nothing (a check of a definition): no audit entry."""
    if request is not None:
        request.context[_UNCHANGED] = True


def audit_changes(event: Any, get_response: Any) -> Any:
    """Middleware: a change that succeeded, made by someone `require_console` let in, is recorded.
    A failure to record is logged and the answer still given: the change itself is done."""
    response = get_response(event)
    context = getattr(event, "context", None) or {}
    found = context.get(_PRINCIPAL)
    if found is None or event.method in READS or response.status_code >= 400 or context.get(_UNCHANGED):
        return response
    from chalicelib import bootstrap

    route = str(context.get("resourcePath", event.path))
    target = "/".join(str(v) for v in (event.uri_params or {}).values())  # decoded by requests.decode_path
    try:
        bootstrap.console().audit.record(found.who, event.method, route, target, context.get(_NOTED))
    except Exception:
        from chalicelib.logs import logger

        logger.exception("audit entry not written", extra={"who": found.who, "route": route})
    return response
