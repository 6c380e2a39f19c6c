"""Sodate's API and event handlers: each parses its request or record, calls one use case
(built by chalicelib.bootstrap, the composition root) and shapes the answer.

The beacon routes are the hot path: the root builds the beacon's few modules alone, the
admin services are imported only when first used, and the modules that parse event records
are imported in their handlers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from chalice.app import Chalice, Cron, DynamoDBEvent, ForbiddenError, Rate, Response, SQSEvent

from chalicelib import bootstrap
from chalicelib.domain import limits
from chalicelib.web import beacon_door, console_access, form_pages, requests
from chalicelib.web.console_routes import console_routes
from chalicelib.web.console_views import console_views
from chalicelib.web.definition_routes import definition_routes
from chalicelib.web.import_routes import import_routes
from chalicelib.web.line_routes import line_routes
from chalicelib.web.mail_routes import mail_routes
from chalicelib.web.member_routes import member_routes


class _Sodate(Chalice):
    def __call__(self, event: Any, context: Any) -> Any:
        """The API's entry point; the beacon's paths skip routing (chalicelib/web/beacon_door.py)."""
        call = beacon_door.from_rest(event)
        if call is not None:
            return beacon_door.respond(call, bootstrap.beacons, rest=True)
        return super().__call__(event, context)


app = _Sodate(app_name="sodate", configure_logs=False)  # chalicelib/logs.py writes one JSON line per event
# Every answer may be binary to API Gateway, whatever the request's Accept says: an open pixel
# fetched by a mail client or image proxy that sends no image type still gets a GIF, not base64
# text (AWS's advice for clients whose Accept header we cannot choose).
app.api.binary_types.append("*/*")
app.register_blueprint(definition_routes)
app.register_blueprint(mail_routes)
app.register_blueprint(import_routes)
app.register_blueprint(form_pages.form_routes)
app.register_blueprint(console_routes)
app.register_blueprint(console_views)
app.register_blueprint(member_routes)
app.register_blueprint(line_routes)

IMPORT_QUEUE = os.environ.get("SODATE_IMPORT_QUEUE_NAME", "sodate-imports")
FEEDBACK_QUEUE = os.environ.get("SODATE_FEEDBACK_QUEUE", "sodate-mail-feedback")
# `chalice deploy` reads these from its environment (infra/stage_config.py --print-env).
_STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/{}/stream/local"
EVENTS_STREAM = os.environ.get("SODATE_EVENTS_STREAM_ARN", _STREAM.format("sodate-events"))
CONTACTS_STREAM = os.environ.get("SODATE_CONTACTS_STREAM_ARN", _STREAM.format("sodate-contacts"))
_answer = requests.answer


@app.middleware("http")
def security_headers(event: Any, get_response: Any) -> Response:
    """Every answer: no content sniffing, and a policy that lets an HTML page load nothing."""
    requests.accept_anything(event)
    requests.decode_path(event)
    response: Response = get_response(event)
    json_body = {"Content-Type": "application/json"} if isinstance(response.body, (dict, list)) else {}
    if json_body:  # UTF-8 as it is: 山田, not \u5c71\u7530
        response.body = requests.json_bytes(response.body)
    elif isinstance(response.body, str):  # every answer is bytes to API Gateway (binary types */*)
        response.body = response.body.encode("utf-8")
    response.headers = {**requests.SECURITY_HEADERS, **json_body, **response.headers}
    return response


app.register_middleware(console_access.audit_changes, "http")  # every change made, by whom


# --- the tag and its beacons ---------------------------------------------------------
# /t, /t.gif and /tag.js are answered by their own door before Chalice routes anything (see
# _Sodate.__call__); the routes stay declared so API Gateway has them.
def _door() -> Response:
    """The same door, if an event ever reaches Chalice's routing for these paths."""
    request = app.current_request
    assert request is not None
    raw = request.raw_body if request.method == "POST" else b""
    call = beacon_door.Call(
        request.method,
        request.context.get("resourcePath", ""),
        {k.lower(): v for k, v in request.headers.items()},
        _client()[1],
        raw.encode("utf-8") if isinstance(raw, str) else raw or b"",
        request.query_params or {},
    )
    done = beacon_door.answer(call, bootstrap.beacons)
    return Response(done.body, status_code=done.status, headers=dict(done.headers))


app.route("/tag.js", methods=["GET", "HEAD"], name="tag")(_door)
app.route("/t", methods=["POST"], content_types=list(beacon_door.BEACON_TYPES), name="page_view")(_door)
app.route("/t.gif", methods=["GET"], name="pixel")(_door)


@app.lambda_function(name="beacon")
def beacon(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The beacon function's own URL (a Lambda function URL, made by `make deploy`): page views
    and the tag without API Gateway's per-request charge."""
    return beacon_door.respond(beacon_door.from_url(event), bootstrap.beacons)


@app.route("/form.js")
def form_js() -> Response:
    """Loaded by the tag only when a page draws a form (sodate.form(name, element))."""
    from chalicelib.web import script

    headers: dict[str, str | list[str]] = {
        "Content-Type": "application/javascript; charset=utf-8",
        "Cache-Control": "public, max-age=3600",
    }
    return Response(script("form.js"), headers=headers)


def _client() -> tuple[Mapping[str, str], str, str]:
    request = app.current_request
    assert request is not None
    identity = (request.context or {}).get("identity") or {}
    return request.headers, str(identity.get("sourceIp", "")), request.method


@app.route("/identify", methods=["POST"])
def identify() -> Any:
    """The site's backend vouches for a logged-in visitor (token signed with the site secret)."""
    body = _json_object()
    site = _answer(bootstrap.sites().find, str(body.get("site", "")))
    return _answer(bootstrap.identity().from_site_backend, site, body.get("token"))


@app.route("/f", methods=["POST"], content_types=["application/json", "text/plain", form_pages.FORM_POST])
def form() -> Any:
    """A form posts here: from a page of the site (its origin checked), or the hosted form page.
    A form defined in forms.yaml signs people up (double opt-in); any other is a lead's details."""
    request = app.current_request
    assert request is not None
    body, plain = form_pages.submission(request)
    site = _answer(bootstrap.sites().find, str(body.get("site", "")))
    origin = request.headers.get("origin")
    if not site.rules.allows_origin(origin) and not form_pages.own_origin(request, origin):
        raise ForbiddenError("This origin may not post to this site's forms.")
    if bootstrap.signups().defines(site, body.get("form")):
        return form_pages.sign_up(site, body, request, plain, origin)
    answer = _answer(bootstrap.identity().from_form, site, body)
    return Response(answer, status_code=202, headers=dict(requests.cors(origin)))


@app.route("/purchases", methods=["POST"])
def purchase() -> Any:
    """The shop's server reports an order (token signed with the site secret; order_id: once)."""
    body = _json_object(limit_kib=limits.PURCHASE_BODY_KIB)
    site = _answer(bootstrap.sites().find, str(body.get("site", "")))
    return _answer(bootstrap.purchases().from_site_backend, site, body.get("token"))


def _json_object(limit_kib: int = limits.SITE_BODY_KIB) -> dict[str, Any]:
    return requests.json_object(app.current_request, limit_kib)


# --- admin ---------------------------------------------------------------------------
ANALYST, MARKETER, ADMIN = "analyst", "marketer", "admin"  # the least role each /admin route needs


def _require(role: str) -> None:
    """The admin bearer token, or a console session whose role is at least `role` (and its
    CSRF token for a change); README "Console: signing in" has the whole table."""
    console_access.require_console(app.current_request, role)


def _params() -> Mapping[str, str]:
    return requests.params(app.current_request)


def _limit(default: str = "50") -> int:
    return requests.page_limit(app.current_request, default)


@app.route("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.route("/admin/contacts")
def contacts() -> Any:
    _require(ANALYST)
    params = _params()
    if "email" in params:
        return _answer(bootstrap.contacts().find_by_email, params["email"])
    if "name" in params:  # the start of a name, family or given name
        return _answer(bootstrap.figures().named, params["name"], _limit("20"))
    if "cell" in params:  # a cell of the overview's grids: grade:A1, rfm:54
        return _answer(bootstrap.figures().in_cell, params["cell"], _limit(), params.get("cursor"))
    return _answer(bootstrap.contacts().list_page, _limit(), _params().get("cursor"))


@app.route("/admin/contacts/{contact_id}")
def contact(contact_id: str) -> Any:
    _require(ANALYST)
    return _answer(bootstrap.contacts().get_by_id, contact_id)


@app.route("/admin/contacts/{contact_id}/timeline")
def contact_timeline(contact_id: str) -> Any:
    _require(ANALYST)
    return _answer(bootstrap.contacts().timeline, contact_id, _limit(), _params().get("cursor"))


@app.route("/admin/contacts/{contact_id}/consent")
def contact_consent(contact_id: str) -> Any:
    """The person's consent ledger: every change of permission, where it came from, oldest first."""
    _require(ANALYST)
    return _answer(bootstrap.contacts().consent, contact_id)


@app.route("/admin/contacts/{contact_id}/link-token", methods=["POST"])
def contact_link_token(contact_id: str) -> Any:
    """A signed, expiring token for links in emails to this person (?sodate_t=...)."""
    _require(ADMIN)
    found = _answer(bootstrap.contacts().get_by_id, contact_id)
    return {"token": bootstrap.identity().link_token(found["contact_id"])}


@app.route("/admin/contacts/{contact_id}", methods=["DELETE"])
def erase_contact(contact_id: str) -> Any:
    _require(ADMIN)
    return _answer(bootstrap.contacts().erase, contact_id)


@app.route("/admin/contacts/{contact_id}/export")
def export_contact(contact_id: str) -> Response:
    _require(MARKETER)
    body = _answer(bootstrap.contacts().export, contact_id)
    return Response(
        body,
        headers={
            "Content-Type": "application/json",
            "Content-Disposition": f'attachment; filename="contact-{contact_id}.json"',
        },
    )


@app.route("/admin/sites", methods=["POST"])
def register_site() -> Any:
    _require(MARKETER)
    return Response(_answer(bootstrap.sites().register, _json_object()), status_code=201)


@app.route("/admin/sites", methods=["GET"])
def sites() -> Any:
    _require(ANALYST)
    return _answer(bootstrap.sites().listing)


@app.route("/admin/sites/{site_id}")
def site(site_id: str) -> Any:
    _require(ANALYST)
    return _answer(bootstrap.sites().describe, site_id)


@app.route("/admin/sites/{site_id}/pages")
def site_pages(site_id: str) -> Any:
    _require(ANALYST)
    return _answer(bootstrap.sites().pages, site_id, _limit("100"), _params().get("cursor"))


@app.route("/admin/sites/{site_id}/visitors/{visitor_id}/timeline")
def visitor_timeline(site_id: str, visitor_id: str) -> Any:
    _require(ANALYST)
    sites = bootstrap.sites()
    return _answer(sites.visitor_timeline, site_id, visitor_id, _limit(), _params().get("cursor"))


@app.route("/admin/sites/{site_id}/verify", methods=["POST"])
def verify_tag(site_id: str) -> Any:
    """Fetch a page of the site and report whether the tag is there and reporting."""
    _require(MARKETER)
    return _answer(bootstrap.tag_verification().verify, site_id, _json_object().get("url"))


@app.route("/admin/jobs/{job}", methods=["POST"])
def run_job(job: str) -> Any:
    """Run a scheduled job now: `rfm`, `sweep`, `tick` or `dates` (within the API's time)."""
    _require(MARKETER)
    return _answer(bootstrap.work().run_job, job, requests.within_the_request())


# --- events ----------------------------------------------------------------------------
@app.on_dynamodb_record(stream_arn=EVENTS_STREAM, batch_size=100)
def events_changed(event: DynamoDBEvent) -> None:
    """New hits: score them, record tag purchases, evaluate; announce hot contacts.
    Segment entries, forms, purchases and events then enter scenarios and reach goals."""
    from chalicelib.web import records  # event records are parsed here; the beacon path never loads it

    raw = event.to_dict()["Records"]
    entries, unreadable = records.timeline_inserts(raw)
    bootstrap.isolation().set_aside("events_changed", unreadable)
    bootstrap.evaluator().on_events(entries)
    bootstrap.runner().on_events(entries)
    bootstrap.figures().on_events(*records.figure_facts(raw))  # last: a retried batch counts once


@app.on_dynamodb_record(stream_arn=CONTACTS_STREAM, batch_size=100)
def contacts_changed(event: DynamoDBEvent) -> None:
    """An import, a purchase or an identification changed someone: evaluate them."""
    from chalicelib.web import records

    raw = event.to_dict()["Records"]
    removed, changed, unreadable = records.contact_changes(raw)
    bootstrap.isolation().set_aside("contacts_changed", unreadable)
    bootstrap.evaluator().on_contacts(removed, changed)
    bootstrap.figures().on_contacts(*records.contact_images(raw))


@app.schedule(Rate(1, unit=Rate.MINUTES))
def sweep(event: Any) -> None:
    """Contacts whose time-based rules (windows, decay, replenishment) change now."""
    bootstrap.evaluator().sweep(_remaining_ms(event.context))


@app.schedule(Rate(1, unit=Rate.MINUTES))
def tick(event: Any) -> dict[str, Any]:
    """Scenario steps that are due: mails, waits ending, branches (bounded; the next tick goes on).
    Answers what it did, as `POST /admin/jobs/tick` does: walked, tasks, sent, held by reason."""
    return bootstrap.runner().tick(_remaining_ms(event.context))


@app.on_sqs_message(queue=FEEDBACK_QUEUE, batch_size=10)
def mail_feedback(event: SQSEvent) -> None:
    """SES events (bounce, complaint, delivery) through SNS: suppress, resend, count; texts
    people send our SMS number (two-way SMS, its own topic into this queue): STOP stops texts;
    and what became of our texts (End User Messaging SMS's events, their own topic): counted.
    A body nobody can read is parked with its reason; the rest of the batch goes through."""
    from chalicelib.web import records

    bootstrap.isolation().each(
        "mail_feedback",
        [record.body for record in event],
        lambda body: _feedback(records.ses_event(body)),
        lambda body: {"body": body[:100_000]},
    )


def _feedback(message: dict[str, Any]) -> None:
    from chalicelib.web import records

    if records.is_sms_reply(message):
        bootstrap.sms_replies().receive(records.sms_reply(message))
    elif records.is_sms_receipt(message):
        bootstrap.sms_receipts().receive(records.sms_receipt(message))
    else:
        bootstrap.mail_events().on_feedback(message)


@app.schedule(Cron(0, 3, "*", "*", "?", "*"))
def rfm(event: Any) -> None:
    """Daily: the population's RFM quintiles, then the buyers whose RFM moved."""
    bootstrap.evaluator().refresh_rfm()


@app.schedule(Cron(0, 0, "*", "*", "?", "*"))
def dates(event: Any) -> None:
    """Daily at 00:00 UTC: enter date scenarios for everyone whose occasion begins within the day."""
    work = bootstrap.work()
    work.date_pass(work.today(), None, _remaining_ms(event.context))


@app.on_sqs_message(queue=IMPORT_QUEUE, batch_size=1)
def import_file(event: SQSEvent) -> None:
    """The work queue: CSVs and definition files that landed in the bucket, and Sodate's own
    'carry on' messages (an import, a re-evaluation, a date pass).  A message no retry can
    fix is parked with its reason; a busy import or a passing fault returns it to the queue."""
    from chalicelib.web import work_messages

    bootstrap.isolation().each(
        "work_queue",
        [record.body for record in event],
        lambda body: work_messages.dispatch(body, bootstrap.work(), _remaining_ms(event.context)),
        lambda body: {"body": body[:100_000]},
    )


def _remaining_ms(context: Any) -> Any:
    """Lambda's clock for this invocation (the local pump hands in the same shape)."""
    return context.get_remaining_time_in_millis
