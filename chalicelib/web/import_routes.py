"""The import wizard's routes: a signed upload straight to the bucket, the file's preview and
proposed mapping, the start (the mapping saved as the file's own), the report while it runs, the
rejected rows, and the history of imports."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.web import console_access, requests

import_routes = Blueprint(__name__)
NO_STORE: dict[str, str | list[str]] = {"Cache-Control": "no-store"}


def _request() -> Any:
    return import_routes.current_request


@import_routes.route("/admin/imports/uploads", methods=["POST"], content_types=["application/json"])
def new_upload() -> Response:
    """A form the browser posts the file with, straight to the bucket (under uploads/)."""
    request = _request()
    console_access.require_console(request, "marketer")
    console_access.nothing_changed(request)  # a signed form changes nothing; the start is audited
    from chalicelib import bootstrap

    name = requests.json_object(request).get("name")
    return Response(requests.answer(bootstrap.import_desk().upload, name), status_code=201, headers=NO_STORE)


@import_routes.route("/admin/imports/uploads/{upload}", methods=["GET"])
def preview(upload: str) -> Response:
    """Encoding, delimiter, the first rows, and the mapping proposed for each column."""
    console_access.require_console(_request(), "marketer")
    from chalicelib import bootstrap

    return Response(requests.answer(bootstrap.import_desk().preview, upload), headers=NO_STORE)


@import_routes.route(
    "/admin/imports/uploads/{upload}/start", methods=["POST"], content_types=["application/json"]
)
def start(upload: str) -> Response:
    """Save the chosen mapping as the file's own and import the file."""
    request = _request()
    who = console_access.require_console(request, "marketer")
    from chalicelib import bootstrap

    chosen = requests.json_object(request).get("columns")
    started = requests.answer(bootstrap.import_desk().start, upload, chosen, who.who)
    console_access.note_change(request, file=started["name"], mapping=started["mapping_key"])
    return Response(started, status_code=202, headers=NO_STORE)


@import_routes.route("/admin/imports", methods=["GET"])
def imports() -> Response:
    """`?name=<file>`: that import's report as it stands; else the newest imports first."""
    request = _request()
    console_access.require_console(request, "analyst")
    from chalicelib import bootstrap

    desk, name = bootstrap.import_desk(), requests.params(request).get("name")
    found = requests.answer(desk.report, name) if name is not None else requests.answer(desk.history)
    return Response(found, headers=NO_STORE)


@import_routes.route("/admin/imports/errors", methods=["GET"])
def errors_file() -> Response:
    """303 to a link (five minutes) that downloads the import's rejected rows."""
    request = _request()
    console_access.require_console(request, "marketer")
    from chalicelib import bootstrap

    link = requests.answer(bootstrap.import_desk().errors_link, requests.params(request).get("name"))
    return Response("", status_code=303, headers={**NO_STORE, "Location": link})
