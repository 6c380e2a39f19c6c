"""Sodate's API and event handlers. Wiring only: each parses and calls one service."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from chalice.app import BadRequestError, Chalice, NotFoundError, Response, SQSEvent, UnauthorizedError

from chalicelib.services import contacts_admin, wiring

app = Chalice(app_name="sodate")

IMPORT_QUEUE = os.environ.get("SODATE_IMPORT_QUEUE_NAME", "sodate-imports")


def _require_admin() -> None:
    request = app.current_request
    if not wiring.admin_allowed(request.headers.get("authorization") if request else None):
        raise UnauthorizedError("A valid 'Authorization: Bearer <admin token>' header is required.")
    wiring.tables_ready()


def _found(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except contacts_admin.ContactNotFoundError as error:
        raise NotFoundError(str(error)) from None


@app.route("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.route("/admin/contacts")
def contacts() -> Any:
    _require_admin()
    request = app.current_request
    params: Mapping[str, str] = (request.query_params if request else None) or {}
    if "email" in params:
        return _found(contacts_admin.find_by_email, params["email"])
    limit = params.get("limit", "50")
    if not limit.isdigit():
        raise BadRequestError(f"limit must be a whole number, not '{limit}'.")
    try:
        return contacts_admin.list_page(int(limit), params.get("cursor"))
    except contacts_admin.InvalidCursorError as error:
        raise BadRequestError(str(error)) from None


@app.route("/admin/contacts/{contact_id}")
def contact(contact_id: str) -> Any:
    _require_admin()
    return _found(contacts_admin.get_by_id, contact_id)


@app.route("/admin/contacts/{contact_id}", methods=["DELETE"])
def erase_contact(contact_id: str) -> Any:
    _require_admin()
    return _found(contacts_admin.erase, contact_id)


@app.route("/admin/contacts/{contact_id}/export")
def export_contact(contact_id: str) -> Response:
    _require_admin()
    body = _found(contacts_admin.export, contact_id)
    return Response(
        body,
        headers={
            "Content-Type": "application/json",
            "Content-Disposition": f'attachment; filename="contact-{contact_id}.json"',
        },
    )


@app.on_sqs_message(queue=IMPORT_QUEUE, batch_size=1)
def import_file(event: SQSEvent) -> None:
    for record in event:
        wiring.handle_import_message(record.body, _remaining_ms(event.context))


def _remaining_ms(context: Any) -> Any:
    """Lambda's clock for this invocation (the local pump hands in the same shape)."""
    return context.get_remaining_time_in_millis
