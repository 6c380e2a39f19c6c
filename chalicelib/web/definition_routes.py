"""Routes of the marketer's definitions (catalogue, scoring, segments, templates, scenarios)
and of the segments they make."""

from __future__ import annotations

from typing import Any

from chalice.app import BadRequestError, Blueprint, Response

from chalicelib.domain.values import plain_digits
from chalicelib.web import console_access, requests

definition_routes = Blueprint(__name__)


def _request() -> Any:
    return definition_routes.current_request


@definition_routes.route(
    "/admin/definitions/{kind}",
    methods=["PUT"],
    content_types=["application/yaml", "application/x-yaml", "text/yaml", "application/json", "text/plain"],
)
def put_definition(kind: str) -> Response:
    """The same check as a file dropped at config/<kind>.yaml; 400 lists every issue.
    The audit entry says which version it replaced and which it became."""
    console_access.require_console(_request(), "marketer")
    from chalicelib import bootstrap

    request = _request()
    raw = (request.raw_body if request else b"") or b""
    body = raw.encode("utf-8") if isinstance(raw, str) else raw

    check = requests.params(request).get("check") in ("1", "true")
    if check:
        console_access.nothing_changed(request)
    return _submitted(
        request, lambda: bootstrap.definitions().submit(kind, body, f"api:{kind}", apply=not check)
    )


@definition_routes.route("/admin/definitions/{kind}/versions/{number}/restore", methods=["POST"])
def restore_definition(kind: str, number: str) -> Response:
    """Roll back: that version's text is checked again and becomes the newest version."""
    console_access.require_console(_request(), "marketer")
    from chalicelib import bootstrap

    if not plain_digits(number):
        raise BadRequestError("The version is a whole number.")
    return _submitted(_request(), lambda: bootstrap.definitions().restore(kind, int(number)), restored=number)


def _submitted(request: Any, submit: Any, **detail: str) -> Response:
    """A definition checked (and applied): 200 with its summary, 400 with every issue."""
    from chalicelib.domain.definitions.compile import DefinitionsRejectedError

    def answer() -> Response:
        try:
            applied = submit()
        except DefinitionsRejectedError as error:  # every issue, by line and field
            return Response(
                {"status": "rejected", "errors": [i.to_json() for i in error.issues]}, status_code=400
            )
        if applied["status"] == "applied":
            before, after = str(applied.get("previous_version", 0)), str(applied["version"])
            console_access.note_change(request, version_before=before, version_after=after, **detail)
        return Response(applied, status_code=200)

    response: Response = requests.answer(answer)
    return response


@definition_routes.route("/admin/definitions/{kind}")
def get_definition(kind: str) -> Any:
    console_access.require_console(_request(), "analyst")
    from chalicelib import bootstrap

    return requests.answer(bootstrap.definitions().describe, kind)


@definition_routes.route("/admin/definitions/{kind}/versions/{number}")
def get_definition_version(kind: str, number: str) -> Any:
    console_access.require_console(_request(), "analyst")
    from chalicelib import bootstrap

    if not plain_digits(number):
        raise BadRequestError("The version is a whole number.")
    return requests.answer(bootstrap.definitions().version, kind, int(number))


@definition_routes.route("/admin/segments")
def segments() -> Any:
    console_access.require_console(_request(), "analyst")
    from chalicelib import bootstrap

    return requests.answer(bootstrap.segments().sizes)


@definition_routes.route("/admin/segments/{name}/history")
def segment_history(name: str) -> Any:
    """Its size at the end of each day (`range=` or `from`/`to`), who entered and left, its rule."""
    request = _request()
    console_access.require_console(request, "analyst")
    from chalicelib import bootstrap

    return requests.answer(bootstrap.segments().history, name, requests.params(request))


@definition_routes.route("/admin/segments/{name}/members")
def segment_members(name: str) -> Any:
    console_access.require_console(_request(), "analyst")
    from chalicelib import bootstrap

    return requests.answer(
        bootstrap.segments().members,
        name,
        requests.page_limit(_request()),
        requests.params(_request()).get("cursor"),
    )


@definition_routes.route("/admin/segments/{name}/export", methods=["POST"])
def export_segment(name: str) -> Any:
    """Writes exports/<segment>-<time>.csv to the bucket (formula-safe) and says where."""
    console_access.require_console(_request(), "marketer")
    from chalicelib import bootstrap

    return Response(requests.answer(bootstrap.segments().export, name), status_code=201)
