"""The console's signed-in pages and the JSON they are drawn from.

Pages: `GET /console` (the overview), `GET /console/contacts` (search, and a person's page with
`?id=`), `GET /console/segments` (sizes; a segment's page with `?name=`), `GET /console/imports`
(the wizard and the history), `GET /console/scenarios` (the journey maps), `GET /console/sites`
(the tag, pages seen, checks), `GET /console/definitions` (the editor), and under make run
`GET /console/mailbox` (the local mailbox, in a frame).  Their data:
`GET /console/api/overview`, and the admin API, which takes the session.  Their script and style
sheet: `GET /console/static/<name>`, open to anyone (they hold no data), cached for a year by
name.  A page without a session goes to the sign-in page; the API answers 401.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, ForbiddenError, Response

from chalicelib.web import console_access, console_pages, console_shell, requests

console_views = Blueprint(__name__)


def _request() -> Any:
    return console_views.current_request


@console_views.route("/console", methods=["GET"])
def overview_page() -> Response:
    request = _request()
    if str((request.context or {}).get("path", "")).endswith("/"):  # /console/: the pages' links are
        return console_pages.see_other(f"../console?lang={console_pages.language(request)}")  # from /console
    return _page("overview", root="")


@console_views.route("/console/contacts", methods=["GET"])
def contacts_page() -> Response:
    """Find a person by email; their page: profile, consent, scores, segments, timeline."""
    return _page("contacts")


@console_views.route("/console/segments", methods=["GET"])
def segments_page() -> Response:
    """Every segment's size; a segment's page (`?name=`): size by day, rule, members, export."""
    return _page("segments")


@console_views.route("/console/imports", methods=["GET"])
def imports_page() -> Response:
    """The import wizard (upload, check, map, start, progress, report) and the history."""
    from chalicelib import bootstrap

    return _page("imports", connect=bootstrap.import_desk().upload_origin())


@console_views.route("/console/scenarios", methods=["GET"])
def scenarios_page() -> Response:
    """The scenarios, and one scenario's journey map (`?name=`) with live counts."""
    return _page("scenarios")


@console_views.route("/console/sites", methods=["GET"])
def sites_page() -> Response:
    """The sites; a site's page (`?id=`): the tag, pages seen, a check on demand, rejected hits."""
    return _page("sites")


@console_views.route("/console/mailbox", methods=["GET"])
def mailbox_page() -> Response:
    """make run only: the local mailbox (what SES took), in a frame."""
    from chalicelib import bootstrap

    if not bootstrap.settings().mailbox_url:
        return Response({"Code": "NotFoundError", "Message": "The mailbox is make run's."}, status_code=404)
    return _page("mailbox")


@console_views.route("/console/definitions", methods=["GET"])
def definitions_page() -> Response:
    """The editor of each kind of definition (`?kind=`): check, apply, versions, roll back."""
    return _page("definitions")


@console_views.route("/console/users", methods=["GET"])
def users_page() -> Response:
    """Admins: the console's users (invite, role, switch off or on) and the audit log."""
    return _page("users")


def _page(name: str, root: str = "../", connect: str = "") -> Response:
    """A signed-in page, or the way to the door.  `root` leads back to the API's root: "" from
    /console, "../" from a page under /console/."""
    from chalicelib import bootstrap

    request = _request()
    lang = console_pages.language(request)
    session = bootstrap.console().session(console_access.cookie(request))
    if session is None:
        door = "sign-in" if root else "console/sign-in"  # /console/sign-in, from here
        return console_pages.see_other(f"{door}?lang={lang}")
    if name in console_shell.ADMIN_ONLY and session.role != "admin":
        raise ForbiddenError(f"The {session.role} role may not open this page; it is for admins.")
    params = dict(requests.params(request))
    body = ""
    if name == "overview" or (name == "segments" and "name" in params):
        body = console_shell.ranges(lang, params, keep=("name",))
    settings = bootstrap.settings()
    tag = settings.beacon_url if name == "sites" else ""
    return console_shell.page(lang, name, session, body, params, root, connect, settings.mailbox_url, tag)


@console_views.route("/console/api/overview", methods=["GET"])
def overview() -> Any:
    """Contacts by consent, grade and RFM cell; each day's page views, conversions, revenue and
    mail; the complaint rate against Gmail's and Yahoo's bars; today's hot leads."""
    from chalicelib import bootstrap

    request = _request()
    console_access.require_console(request, "analyst")
    numbers = requests.answer(bootstrap.figures().overview, requests.params(request))
    return Response(numbers, headers={"Cache-Control": "no-store"})


@console_views.route("/console/static/{name}", methods=["GET"])
def static(name: str) -> Response:
    from chalicelib.web import console_assets

    request = _request()
    gzip = "gzip" in (request.headers.get("accept-encoding") or "").lower()
    found = console_assets.asset(name, gzip)
    if found is None:
        return Response(
            {"Code": "NotFoundError", "Message": f"No console file {name[:80]!r}."}, status_code=404
        )
    body, content_type, gzipped = found
    headers: dict[str, str | list[str]] = {
        "Content-Type": content_type,
        "Cache-Control": "public, max-age=31536000, immutable",
        "ETag": f'"{name}"',
        "Vary": "Accept-Encoding",
    }
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return Response(body, headers=headers)
