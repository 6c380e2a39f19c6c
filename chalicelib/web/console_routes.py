"""Routes of the console's door: the sign-in page and its post, choosing a password, a forgotten
password (a code by mail, then a new password), signing out, who is signed in
(`GET /console/me`) and the audit log (`GET /console/audit`).

Pages answer pages: a refusal is the sign-in page again with the reason (one wording for an
unknown address and a wrong password), with the status that says it.  A post from another origin
is refused before anything is looked at.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, ForbiddenError, Response

from chalicelib.web import console_access, console_pages, requests

console_routes = Blueprint(__name__)
FORM = "application/x-www-form-urlencoded"
STATUS = {  # SignInRefusedError's reasons
    "refused": 401,
    "rate_limited": 429,
    "no_role": 403,
    "unsupported": 403,
    "password_rejected": 400,
    "step_expired": 400,
    "code_wrong": 400,
    "busy": 503,
}


def _request() -> Any:
    return console_routes.current_request


def _ip(request: Any) -> str:
    return str(((request.context or {}).get("identity") or {}).get("sourceIp", ""))


def _from_here(request: Any) -> None:
    """A post to the door must come from our own pages (no signing a browser in from elsewhere)."""
    from chalicelib.web.form_pages import own_origin

    origin = request.headers.get("origin")
    foreign_fetch = request.headers.get("sec-fetch-site") not in (None, "same-origin", "none")
    if (origin is not None and not own_origin(request, origin)) or foreign_fetch:
        raise ForbiddenError("The console's forms may only be posted from the console's own pages.")


def _posted() -> tuple[Any, str, dict[str, str]]:
    """A form posted to the door: the request (from our own pages only), its language, its fields."""
    request = _request()
    _from_here(request)
    return request, console_pages.language(request), console_access.form_fields(request)


def _signed_in(lang: str, signed: Any) -> Response:
    cookie = console_access.session_cookie(signed.secret, signed.max_age)
    return console_pages.see_other(f"../console?lang={lang}", {"Set-Cookie": cookie})


@console_routes.route("/console/sign-in", methods=["GET"])
def sign_in_page() -> Response:
    from chalicelib import bootstrap

    request = _request()
    lang = console_pages.language(request)
    if bootstrap.console().session(console_access.cookie(request)) is not None:
        return console_pages.see_other(f"../console?lang={lang}")
    signed_out = requests.params(request).get("signed_out") == "1"
    return console_pages.sign_in(lang, note=console_pages.WORDS[lang]["signed_out"] if signed_out else "")


@console_routes.route("/console/sign-in", methods=["POST"], content_types=[FORM])
def sign_in() -> Response:
    from chalicelib import bootstrap
    from chalicelib.domain.console import SignInRefusedError
    from chalicelib.services.console import ChoosePassword

    request, lang, fields = _posted()
    email = fields.get("email", "")[:320]
    try:
        signed = bootstrap.console().sign_in(email, fields.get("password", ""), _ip(request))
    except SignInRefusedError as error:
        return console_pages.sign_in(lang, str(error), email, STATUS.get(error.reason, 400))
    if isinstance(signed, ChoosePassword):
        return console_pages.choose_password(lang, signed.step, signed.email)
    return _signed_in(lang, signed)


@console_routes.route("/console/set-password", methods=["POST"], content_types=[FORM])
def set_password() -> Response:
    """The second step for a user an admin created: their own password, then signed in."""
    from chalicelib import bootstrap
    from chalicelib.domain.console import SignInRefusedError

    _, lang, fields = _posted()
    step, new = fields.get("step", ""), fields.get("new_password", "")
    email = fields.get("email", "")
    if new != fields.get("repeat", ""):
        message = "The two new passwords differ; type the same one twice."
        return console_pages.choose_password(lang, step, email, message, 400)
    try:
        signed = bootstrap.console().choose_password(step, new)
    except SignInRefusedError as error:
        status = STATUS.get(error.reason, 400)
        if error.reason == "password_rejected":
            return console_pages.choose_password(lang, step, email, str(error), status)
        return console_pages.sign_in(lang, str(error), status=status)
    return _signed_in(lang, signed)


@console_routes.route("/console/forgot", methods=["GET"])
def forgot_page() -> Response:
    return console_pages.forgot(console_pages.language(_request()))


@console_routes.route("/console/forgot", methods=["POST"], content_types=[FORM])
def forgot() -> Response:
    """The pool mails a code if the address has an account; the next page is the same either way."""
    from chalicelib import bootstrap
    from chalicelib.domain.console import SignInRefusedError

    _, lang, fields = _posted()
    email = fields.get("email", "")[:320].strip()
    try:
        bootstrap.console().forgot(email)
    except SignInRefusedError as error:
        return console_pages.forgot(lang, str(error), email, STATUS.get(error.reason, 400))
    return console_pages.reset(lang, email)


@console_routes.route("/console/reset", methods=["POST"], content_types=[FORM])
def reset() -> Response:
    """The mailed code and a new password; then the sign-in page, to sign in with it."""
    from chalicelib import bootstrap
    from chalicelib.domain.console import SignInRefusedError

    request, lang, fields = _posted()
    email, new = fields.get("email", "")[:320], fields.get("new_password", "")
    if new != fields.get("repeat", ""):
        message = "The two new passwords differ; type the same one twice."
        return console_pages.reset(lang, email, message, 400)
    try:
        bootstrap.console().reset(email, fields.get("code", "")[:40], new, _ip(request))
    except SignInRefusedError as error:
        return console_pages.reset(lang, email, str(error), STATUS.get(error.reason, 400))
    return console_pages.sign_in(lang, email=email, note=console_pages.WORDS[lang]["reset_done"])


@console_routes.route("/console/sign-out", methods=["POST"], content_types=[FORM, "application/json"])
def sign_out() -> Response:
    """Ends the session (it needs the session's CSRF token, as every change does); the cookie goes."""
    from chalicelib import bootstrap

    request = _request()
    _from_here(request)
    access, secret = bootstrap.console(), console_access.cookie(request)
    session = access.session(secret)
    if session is not None and not console_access.csrf_matches(request, session.csrf):
        raise ForbiddenError("Signing out needs the session's CSRF token (X-CSRF-Token or csrf_token).")
    access.sign_out(secret)
    lang = console_pages.language(request)
    cleared = {"Set-Cookie": console_access.cleared_cookie()}
    return console_pages.see_other(f"sign-in?signed_out=1&lang={lang}", cleared)


@console_routes.route("/console/me", methods=["GET"])
def me() -> Any:
    """Who is signed in, their role, and the CSRF token their changes must carry."""
    request = _request()
    found = console_access.require_console(request, "analyst")
    return Response(
        {"who": found.who, "role": found.role, "csrf_token": found.csrf},
        headers={"Cache-Control": "no-store"},
    )


@console_routes.route("/console/audit", methods=["GET"])
def audit() -> Any:
    """The audit log, newest first: `?limit=50&cursor=...` (admin)."""
    from chalicelib import bootstrap

    request = _request()
    console_access.require_console(request, "admin")
    page = bootstrap.console().audit.page
    return requests.answer(page, requests.page_limit(request), requests.params(request).get("cursor"))
