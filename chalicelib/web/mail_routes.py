"""Routes of scenario mail: tracked clicks and opens (and texts' short links), unsubscribe, and
the scenario reports."""

from __future__ import annotations

import html
from typing import Any

from chalice.app import BadRequestError, Blueprint, ForbiddenError, NotFoundError, Response

from chalicelib.domain.values import plain_digits
from chalicelib.web import console_access, requests
from chalicelib.web.pages import NO_STORE, page

mail_routes = Blueprint(__name__)
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def _request() -> Any:
    return mail_routes.current_request


def _not_ours() -> Response:
    """A token we did not sign (tampered, made up, expired): a page, never a redirect."""
    return page("Link not recognised / リンクが無効です", "<p>This link is not valid.</p>", 404)


@mail_routes.route("/c/{token}", methods=["GET", "HEAD"])
def click(token: str) -> Response:
    """A tracked link: off to the address the mail named, and only there."""
    from chalicelib import bootstrap
    from chalicelib.domain.tokens import InvalidTokenError

    request = _request()
    try:
        target = bootstrap.mail_events().clicked(token, request.headers.get("user-agent", ""), request.method)
    except InvalidTokenError:
        return _not_ours()
    return Response("", status_code=302, headers={"Location": target, **NO_STORE})


@mail_routes.route("/s/{code}", methods=["GET", "HEAD"])
def short_click(code: str) -> Response:
    """A text's tracked link: its code stands for a click token, and counts as that click."""
    from chalicelib import bootstrap
    from chalicelib.domain.tokens import InvalidTokenError

    request = _request()
    try:
        target = bootstrap.short_link_clicks().clicked(
            code, request.headers.get("user-agent", ""), request.method
        )
    except InvalidTokenError:  # unknown, expired or malformed
        return _not_ours()
    return Response("", status_code=302, headers={"Location": target, **NO_STORE})


@mail_routes.route("/o/{token}", methods=["GET"])
def open_pixel(token: str) -> Response:
    from chalicelib import bootstrap

    bootstrap.mail_events().opened(token, _request().headers.get("user-agent", ""))
    return Response(PIXEL, status_code=200, headers={"Content-Type": "image/gif", **NO_STORE})


@mail_routes.route("/u/{token}", methods=["GET"])
def unsubscribe_page(token: str) -> Response:
    """A page that asks; nothing changes on a GET (mail scanners follow every link)."""
    from chalicelib import bootstrap
    from chalicelib.domain.tokens import InvalidTokenError

    try:
        target = bootstrap.mail_events().unsubscribe_target(token)
    except InvalidTokenError:
        return _not_ours()
    question = (
        f"「{html.escape(target['topic'])}」の配信を停止しますか？ Stop emails about {html.escape(target['topic'])}?"
        if target["topic"]
        else "配信を停止しますか？ Stop these emails?"
    )
    form = (
        f"<p>{html.escape(target['email'])}</p><p>{question}</p>"
        '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit" id="unsubscribe">配信停止 / Unsubscribe</button></form>'
        f'<p><a href="../p/{html.escape(target["preferences"])}">配信設定 / All your email preferences</a></p>'
    )
    return page("配信停止 / Unsubscribe", form)


@mail_routes.route(
    "/u/{token}",
    methods=["POST"],
    content_types=["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"],
)
def unsubscribe(token: str) -> Response:
    """RFC 8058 one-click: the mail client POSTs List-Unsubscribe=One-Click; no cookie needed."""
    from chalicelib import bootstrap
    from chalicelib.domain.hits import truncate_ip
    from chalicelib.domain.tokens import InvalidTokenError

    try:
        request = _request()
        source_ip = str(((request.context or {}).get("identity") or {}).get("sourceIp", ""))
        bootstrap.mail_events().unsubscribe(
            token, truncate_ip(source_ip), request.headers.get("user-agent", "")
        )
    except InvalidTokenError:
        return _not_ours()
    return page("配信を停止しました / Unsubscribed", "<p>You will not receive these emails again.</p>")


@mail_routes.route("/p/{token}", methods=["GET"])
def preferences_page(token: str) -> Response:
    """The person's topics, a pause, and a way out of everything: a page, nothing changes."""
    from chalicelib import bootstrap

    try:
        shown = requests.answer(bootstrap.preferences().page, token)
    except (ForbiddenError, NotFoundError, BadRequestError):
        return _not_ours()
    return page("配信設定 / Email preferences", _preferences_form(shown))


def _preferences_form(shown: dict[str, Any], saved: str = "") -> str:
    boxes = "".join(
        f'<label><input type="checkbox" name="topics" value="{html.escape(t["name"])}"'
        f"{' checked' if t['on'] else ''}> {html.escape(t['label'].ja)} / {html.escape(t['label'].en)}</label>"
        for t in shown["topics"]
    )
    keep = '<option value="keep" selected>このまま / Keep the pause</option>' if shown["paused_until"] else ""
    pauses = keep + "".join(
        f'<option value="{d}">{"一時停止しない / No pause" if not d else f"{d}日間停止 / Pause {d} days"}</option>'
        for d in (0, 7, 30, 90)
    )
    paused = (
        f"<p>{html.escape(shown['paused_until'][:10])} まで一時停止中 / Paused until then</p>"
        if shown["paused_until"]
        else ""
    )
    topics = f"<fieldset><legend>受け取る内容 / Topics</legend>{boxes}</fieldset>" if boxes else ""
    note = f'<p role="status">{html.escape(saved)}</p>' if saved else ""
    return (
        f"{note}<p>{html.escape(shown['email'])}</p>{paused}"
        f'<form method="post"><input type="hidden" name="action" value="save">{topics}'
        f'<label for="pause">一時停止 / Pause</label><select id="pause" name="pause">{pauses}</select>'
        '<button type="submit" id="save">保存 / Save</button></form>'
        '<form method="post"><input type="hidden" name="action" value="unsubscribe">'
        '<button type="submit" id="unsubscribe-all">すべての配信を停止 / Unsubscribe from all</button></form>'
    )


@mail_routes.route("/p/{token}", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
def save_preferences(token: str) -> Response:
    from chalicelib import bootstrap
    from chalicelib.domain.hits import truncate_ip

    request = _request()
    source_ip = str(((request.context or {}).get("identity") or {}).get("sourceIp", ""))
    ip, agent = truncate_ip(source_ip), request.headers.get("user-agent", "")
    preferences = bootstrap.preferences()
    try:
        fields = requests.form_fields(request.raw_body, 4, 50)
        if fields.get("action", [""])[0] == "unsubscribe":
            requests.answer(preferences.unsubscribe_all, token, ip, agent)
            return page("配信を停止しました / Unsubscribed", "<p>You will not receive our emails again.</p>")
        pause = fields.get("pause", ["0"])[0] or "0"
        days = None if pause == "keep" else int(pause) if plain_digits(pause) else -1
        done = requests.answer(preferences.save, token, fields.get("topics", []), days, ip, agent)
    except (ForbiddenError, NotFoundError):
        return _not_ours()
    except BadRequestError as refused:  # said on the page the person sent, as a page
        try:
            shown = requests.answer(preferences.page, token)
        except (ForbiddenError, NotFoundError):
            return _not_ours()
        form = _preferences_form(shown, f"保存できませんでした / Not saved: {refused.args[0]}")
        return page("配信設定 / Email preferences", form, 400)
    if done["unsubscribed"]:
        return page("配信を停止しました / Unsubscribed", "<p>You will not receive our emails again.</p>")
    shown = requests.answer(preferences.page, token)
    return page("配信設定 / Email preferences", _preferences_form(shown, "保存しました / Saved"))


@mail_routes.route("/admin/scenarios")
def scenarios() -> Any:
    console_access.require_console(_request(), "analyst")
    from chalicelib import bootstrap

    return bootstrap.scenario_reports().scenarios()


@mail_routes.route("/admin/scenarios/{name}/report")
def scenario_report(name: str) -> Any:
    """Per step, per A/B branch and per day; `?since=YYYY-MM-DD&until=YYYY-MM-DD`."""
    request = _request()
    console_access.require_console(request, "analyst")
    from chalicelib import bootstrap

    query = requests.params(request)
    report = bootstrap.scenario_reports().report
    return requests.answer(report, name, query.get("since", ""), query.get("until", ""))


@mail_routes.route("/admin/clock", methods=["GET", "POST"])
def local_clock() -> Any:
    """The local stack only: move Sodate's clock forward ({"advance_seconds": N}) or back to
    the real time ({"reset": true}), so a week-long scenario can be walked in a minute."""
    request = _request()
    console_access.require_console(request, "admin" if request.method == "POST" else "analyst")
    from chalicelib import bootstrap, clock

    if bootstrap.settings().stage != "local":
        raise NotFoundError("The clock can only be moved on the local stack.")
    if request.method == "POST":
        body = requests.json_object(request)
        if body.get("reset") is True:
            clock.reset()
        else:
            seconds = body.get("advance_seconds")
            if (
                not isinstance(seconds, (int, float))
                or isinstance(seconds, bool)
                or not 0 < seconds <= 400 * 86400
            ):
                raise BadRequestError("advance_seconds: a number of seconds forward (at most 400 days).")
            clock.travel(float(seconds))
    return {"now": clock.now()}
