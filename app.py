"""Sodate's API and event handlers. Wiring only: each parses and calls one service.

The beacon routes are the hot path, so the admin services (PynamoDB,
Powertools) are imported where they are used, not when the function starts.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from chalice.app import (
    Chalice,
    Cron,
    DynamoDBEvent,
    ForbiddenError,
    NotFoundError,
    Rate,
    Response,
    SQSEvent,
)

from chalicelib import clock
from chalicelib.services.beacons import GIF, Answer, beacons
from chalicelib.web import requests
from chalicelib.web import tag_js as tag_js_source
from chalicelib.web.definition_routes import definition_routes
from chalicelib.web.mail_routes import mail_routes

app = Chalice(app_name="sodate")
app.register_blueprint(definition_routes)
app.register_blueprint(mail_routes)

IMPORT_QUEUE = os.environ.get("SODATE_IMPORT_QUEUE_NAME", "sodate-imports")
FEEDBACK_QUEUE = os.environ.get("SODATE_FEEDBACK_QUEUE", "sodate-mail-feedback")
# `chalice deploy` reads these from its environment (infra/stage_config.py --print-env).
_STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/{}/stream/local"
EVENTS_STREAM = os.environ.get("SODATE_EVENTS_STREAM_ARN", _STREAM.format("sodate-events"))
CONTACTS_STREAM = os.environ.get("SODATE_CONTACTS_STREAM_ARN", _STREAM.format("sodate-contacts"))


# --- the tag and its beacons ---------------------------------------------------------
@app.route("/tag.js")
def tag_js() -> Response:
    return Response(
        tag_js_source(),
        headers={
            "Content-Type": "application/javascript; charset=utf-8",
            "Cache-Control": "public, max-age=3600",
        },
    )


def _client() -> tuple[Mapping[str, str], str, str]:
    request = app.current_request
    assert request is not None
    identity = (request.context or {}).get("identity") or {}
    return request.headers, str(identity.get("sourceIp", "")), request.method


@app.route("/t", methods=["POST"], content_types=["text/plain", "application/json"])
def beacon() -> Response:
    headers, ip, method = _client()
    request = app.current_request
    body = request.raw_body if request else b""
    raw = body.encode("utf-8") if isinstance(body, str) else body or b""
    answer = beacons().from_post(raw, headers, ip, method)
    return Response("", status_code=answer.status, headers=_no_store(answer))


@app.route("/t.gif", methods=["GET"])
def pixel() -> Response:
    headers, ip, method = _client()
    answer = beacons().from_pixel(_params().get("d", ""), headers, ip, method)
    return Response(
        GIF,
        status_code=answer.status if answer.status >= 400 else 200,
        headers={**_no_store(answer), "Content-Type": "image/gif"},
    )


def _no_store(answer: Answer) -> dict[str, str | list[str]]:
    return {**answer.headers, "Cache-Control": "no-store"}


@app.route("/identify", methods=["POST"])
def identify() -> Any:
    """The site's backend vouches for a logged-in visitor (token signed with the site secret)."""
    from chalicelib.services import identity, sites_admin

    body = _json_object()
    site = _answer(sites_admin.find, str(body.get("site", "")))
    return _answer(identity.identity().from_site_backend, site, body.get("token"))


@app.route("/f", methods=["POST"], content_types=["application/json", "text/plain"])
def form() -> Any:
    """A form on the site posts here; the browser's origin must be the site's."""
    from chalicelib.services import identity, sites_admin

    body = _json_object()
    site = _answer(sites_admin.find, str(body.get("site", "")))
    headers, _, _ = _client()
    if not site.rules.allows_origin(headers.get("origin")):
        raise ForbiddenError("This origin may not post to this site's forms.")
    answer = _answer(identity.identity().from_form, site, body)
    cors = (
        {"Access-Control-Allow-Origin": headers["origin"], "Vary": "Origin"} if headers.get("origin") else {}
    )
    return Response(answer, status_code=202, headers=dict(cors))


@app.route("/purchases", methods=["POST"])
def purchase() -> Any:
    """The shop's server reports an order (token signed with the site secret; order_id: once)."""
    from chalicelib.services import purchases, sites_admin

    body = _json_object(limit_kib=32)
    site = _answer(sites_admin.find, str(body.get("site", "")))
    return _answer(purchases.from_site_backend, site, body.get("token"))


def _json_object(limit_kib: int = 4) -> dict[str, Any]:
    return requests.json_object(app.current_request, limit_kib)


# --- admin ---------------------------------------------------------------------------
def _require_admin() -> None:
    requests.require_admin(app.current_request)


def _params() -> Mapping[str, str]:
    return requests.params(app.current_request)


def _limit(default: str = "50") -> int:
    return requests.page_limit(app.current_request, default)


_answer = requests.answer


@app.route("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.route("/admin/contacts")
def contacts() -> Any:
    _require_admin()
    from chalicelib.services import contacts_admin

    if "email" in _params():
        return _answer(contacts_admin.find_by_email, _params()["email"])
    return _answer(contacts_admin.list_page, _limit(), _params().get("cursor"))


@app.route("/admin/contacts/{contact_id}")
def contact(contact_id: str) -> Any:
    _require_admin()
    from chalicelib.services import contacts_admin

    return _answer(contacts_admin.get_by_id, contact_id)


@app.route("/admin/contacts/{contact_id}/timeline")
def contact_timeline(contact_id: str) -> Any:
    _require_admin()
    from chalicelib.services import contacts_admin

    return _answer(contacts_admin.timeline, contact_id, _limit(), _params().get("cursor"))


@app.route("/admin/contacts/{contact_id}/link-token", methods=["POST"])
def contact_link_token(contact_id: str) -> Any:
    """A signed, expiring token for links in emails to this person (?sodate_t=...)."""
    _require_admin()
    from chalicelib.services import contacts_admin, identity

    contact = _answer(contacts_admin.get_by_id, contact_id)
    return {"token": identity.identity().link_token(contact["contact_id"])}


@app.route("/admin/contacts/{contact_id}", methods=["DELETE"])
def erase_contact(contact_id: str) -> Any:
    _require_admin()
    from chalicelib.services import contacts_admin

    return _answer(contacts_admin.erase, contact_id)


@app.route("/admin/contacts/{contact_id}/export")
def export_contact(contact_id: str) -> Response:
    _require_admin()
    from chalicelib.services import contacts_admin

    body = _answer(contacts_admin.export, contact_id)
    return Response(
        body,
        headers={
            "Content-Type": "application/json",
            "Content-Disposition": f'attachment; filename="contact-{contact_id}.json"',
        },
    )


@app.route("/admin/sites", methods=["POST"])
def register_site() -> Any:
    _require_admin()
    from chalicelib.services import sites_admin

    request = app.current_request
    return Response(_answer(sites_admin.register, request.json_body if request else None), status_code=201)


@app.route("/admin/sites/{site_id}")
def site(site_id: str) -> Any:
    _require_admin()
    from chalicelib.services import sites_admin

    return _answer(sites_admin.describe, site_id)


@app.route("/admin/sites/{site_id}/pages")
def site_pages(site_id: str) -> Any:
    _require_admin()
    from chalicelib.services import sites_admin

    return _answer(sites_admin.pages, site_id, _limit("100"), _params().get("cursor"))


@app.route("/admin/sites/{site_id}/visitors/{visitor_id}/timeline")
def visitor_timeline(site_id: str, visitor_id: str) -> Any:
    _require_admin()
    from chalicelib.services import sites_admin

    return _answer(sites_admin.visitor_timeline, site_id, visitor_id, _limit(), _params().get("cursor"))


@app.route("/admin/sites/{site_id}/verify", methods=["POST"])
def verify_tag(site_id: str) -> Any:
    """Fetch a page of the site and report whether the tag is there and reporting."""
    _require_admin()
    from chalicelib.services import tag_verification
    from chalicelib.settings import get_settings

    url = _json_object().get("url")
    return _answer(tag_verification.verify, site_id, url, get_settings().stage == "local")


@app.route("/admin/jobs/{job}", methods=["POST"])
def run_job(job: str) -> Any:
    """Run a scheduled job now: `rfm` (population quintiles), `sweep` (due re-evaluations),
    `tick` (due scenario steps) or `dates` (today's birthdays and other date entries)."""
    _require_admin()
    from chalicelib.services import wiring

    if job == "rfm":
        return wiring.evaluator().refresh_rfm()
    if job == "sweep":
        return {"evaluated": wiring.evaluator().sweep()}
    if job == "tick":
        return wiring.engine().tick(_within_the_request(15_000))
    if job == "dates":
        day = clock.today()
        return {"day": day.isoformat(), "entered": wiring.date_pass(day, None, _within_the_request(30_000))}
    raise NotFoundError("The jobs are rfm, sweep, tick and dates.")


# --- events ----------------------------------------------------------------------------
@app.on_dynamodb_record(stream_arn=EVENTS_STREAM, batch_size=100)
def events_changed(event: DynamoDBEvent) -> None:
    """New hits: score them, record tag purchases, evaluate; announce hot contacts.
    Segment entries, forms, purchases and events then enter scenarios and reach goals."""
    from chalicelib.services import wiring

    wiring.tables_ready()
    records = event.to_dict()["Records"]
    wiring.evaluator().on_events(records)
    wiring.engine().on_events(records)


@app.on_dynamodb_record(stream_arn=CONTACTS_STREAM, batch_size=100)
def contacts_changed(event: DynamoDBEvent) -> None:
    """An import, a purchase or an identification changed someone: evaluate them."""
    from chalicelib.services import wiring

    wiring.tables_ready()
    wiring.evaluator().on_contacts(event.to_dict()["Records"])


@app.schedule(Rate(1, unit=Rate.MINUTES))
def sweep(event: Any) -> None:
    """Contacts whose time-based rules (windows, decay, replenishment) change now."""
    from chalicelib.services import wiring

    wiring.tables_ready()
    wiring.evaluator().sweep(_remaining_ms(event.context))


@app.schedule(Rate(1, unit=Rate.MINUTES))
def tick(event: Any) -> None:
    """Scenario steps that are due: mails, waits ending, branches (bounded; the next tick goes on)."""
    from chalicelib.services import wiring

    wiring.tables_ready()
    wiring.engine().tick(_remaining_ms(event.context))


@app.on_sqs_message(queue=FEEDBACK_QUEUE, batch_size=10)
def mail_feedback(event: SQSEvent) -> None:
    """SES events (bounce, complaint, delivery) through SNS: suppress, resend, count."""
    from chalicelib.services import wiring

    wiring.tables_ready()
    for record in event:
        wiring.mail_events().on_feedback(record.body)


@app.schedule(Cron(0, 3, "*", "*", "?", "*"))
def rfm(event: Any) -> None:
    """Daily: the population's RFM quintiles, then the buyers whose RFM moved."""
    from chalicelib.services import wiring

    wiring.tables_ready()
    wiring.evaluator().refresh_rfm()


@app.schedule(Cron(0, 0, "*", "*", "?", "*"))
def dates(event: Any) -> None:
    """Daily at 00:00 UTC: enter date scenarios for everyone whose occasion begins within the day."""
    from chalicelib.services import wiring

    wiring.tables_ready()
    wiring.date_pass(clock.today(), None, _remaining_ms(event.context))


@app.on_sqs_message(queue=IMPORT_QUEUE, batch_size=1)
def import_file(event: SQSEvent) -> None:
    from chalicelib.services import wiring

    for record in event:
        wiring.handle_import_message(record.body, _remaining_ms(event.context))


def _within_the_request(reserve_ms: int) -> Any:
    """A job's clock for an API call: it stops 25 s from now, within API Gateway's 29 s,
    when the job's own reserve (`reserve_ms`) is reached; the schedule does the rest."""
    deadline = time.monotonic() + 25

    def remaining_ms() -> int:
        return int((deadline - time.monotonic()) * 1000) + reserve_ms

    return remaining_ms


def _remaining_ms(context: Any) -> Any:
    """Lambda's clock for this invocation (the local pump hands in the same shape)."""
    return context.get_remaining_time_in_millis
