"""Sign-up forms and their confirmation: the hosted form page, the form as data for the tag,
the submission (`POST /f`, JSON or a plain HTML post) and the confirmation page.

Pages run no script at all (the API's page policy); a plain HTML post gets a page or a
redirect back, a JSON post (the tag) gets JSON.  Nothing changes on a GET.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, ForbiddenError, Response

from chalicelib.domain import limits
from chalicelib.web import requests
from chalicelib.web.pages import NO_STORE, page

if TYPE_CHECKING:  # app.py imports this module, so the beacon path does: what else it needs, it
    from chalicelib.domain.definitions.forms import Form  # imports in the route that needs it

form_routes = Blueprint(__name__)
FORM_POST = "application/x-www-form-urlencoded"
WORDS = {
    "ja": {
        "send": "登録する",
        "topics": "受け取る内容",
        "required": "必須",
        "other": "English",
        "back": "戻る",
    },
    "en": {
        "send": "Sign up",
        "topics": "What you want to receive",
        "required": "required",
        "other": "日本語",
        "back": "Back",
    },
}


def _request() -> Any:
    return form_routes.current_request


def _language(form: Form) -> str:
    asked = requests.params(_request()).get("lang", "")
    return asked if asked in ("ja", "en") else form.language


def _site_and_form(site_id: str, name: str) -> tuple[Any, Form]:
    from chalicelib import bootstrap

    site = requests.answer(bootstrap.sites().find, site_id)
    return site, requests.answer(bootstrap.signups().form, site, name)


@form_routes.route("/forms/{site_id}/{name}", methods=["GET"])
def hosted_form(site_id: str, name: str) -> Response:
    """The form as a page of its own: accessible, mobile-friendly, no script."""
    from chalicelib import bootstrap

    site, form = _site_and_form(site_id, name)
    lang = _language(form)
    start = bootstrap.signups().start_token(site, form)
    words = WORDS[lang]
    hidden = {"site": site.site_id, "form": form.name, "ft": start, "lang": lang}
    parts = [f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in hidden.items()]
    parts.append(
        '<div class="hp" aria-hidden="true"><label for="sodate_hp">Leave this empty</label>'
        '<input id="sodate_hp" name="sodate_hp" type="text" tabindex="-1" autocomplete="off"></div>'
    )
    for field in form.fields:
        ident = f"f-{field.name.replace('.', '-')}"
        mark = f' <span class="req">({words["required"]})</span>' if field.required else ""
        label = f'<label for="{ident}">{html.escape(field.label.get(lang))}{mark}</label>'
        required = " required" if field.required else ""
        if field.options:
            choices = "".join(f"<option>{html.escape(o)}</option>" for o in field.options)
            control = f'<select id="{ident}" name="{field.name}"{required}><option value=""></option>{choices}</select>'
        else:
            auto = {"email": "email", "name": "name", "company": "organization", "phone": "tel"}.get(
                field.name, "on"
            )
            control = (
                f'<input id="{ident}" name="{field.name}" type="{field.kind}" maxlength="{field.max_chars}"'
                f' autocomplete="{auto}"{required}>'
            )
        parts.append(label + control)
    topics = bootstrap.signups().forms().topics
    if form.topics:
        boxes = "".join(
            f'<label><input type="checkbox" name="topics" value="{html.escape(t)}" checked> '
            f"{html.escape(topics[t].label.get(lang))}</label>"
            for t in form.topics
        )
        parts.append(f"<fieldset><legend>{words['topics']}</legend>{boxes}</fieldset>")
    parts.append(f'<p class="consent" id="consent">{html.escape(form.consent.get(lang))}</p>')
    parts.append(f'<button type="submit" aria-describedby="consent">{words["send"]}</button>')
    other = "en" if lang == "ja" else "ja"
    body = (
        f'<form method="post" action="../../f" accept-charset="utf-8">{"".join(parts)}</form>'
        f'<p><a href="?lang={other}" hreflang="{other}">{words["other"]}</a></p>'
    )
    return page(html.escape(form.heading(lang)), body, lang=lang, referrer="same-origin")


@form_routes.route("/forms/{site_id}/{name}/spec", methods=["GET"])
def form_spec(site_id: str, name: str) -> Response:
    """What the tag needs to draw the form in a page of the site (sodate.form(name, element))."""
    from chalicelib import bootstrap

    site, form = _site_and_form(site_id, name)
    origin = _request().headers.get("origin")
    if origin and not site.rules.allows_origin(origin):
        raise ForbiddenError("This origin may not show this site's forms.")
    lang = _language(form)
    topics = bootstrap.signups().forms().topics
    spec = {
        "form": form.name,
        "title": form.heading(lang),
        "lang": lang,
        "fields": [
            {
                "name": f.name,
                "type": f.kind,
                "label": f.label.get(lang),
                "required": f.required,
                "options": list(f.options),
                "max": f.max_chars,
            }
            for f in form.fields
        ],
        "topics": [{"name": t, "label": topics[t].label.get(lang)} for t in form.topics],
        "consent": form.consent.get(lang),
        "send": WORDS[lang]["send"],
        "topics_legend": WORDS[lang]["topics"],
        "ft": bootstrap.signups().start_token(site, form),
    }
    return Response(spec, headers={**requests.cors(origin), "Cache-Control": "no-store"})


def submission(request: Any) -> tuple[dict[str, Any], bool]:
    """The posted fields, and whether it was a plain HTML post (which answers with a page)."""
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != FORM_POST:
        return requests.json_object(request, limits.FORM_BODY_KIB), False
    pairs = requests.form_fields(request.raw_body, limits.FORM_BODY_KIB, 100)
    body: dict[str, Any] = {k: (v if k == "topics" else v[0]) for k, v in pairs.items()}
    return body, True


def own_origin(request: Any, origin: str | None) -> bool:
    """A post from the API's own hosted form page."""
    from urllib.parse import urlsplit

    return bool(origin) and urlsplit(str(origin)).netloc == (request.headers.get("host") or "")


def taken_page(thanks: str, redirect: str | None) -> Response:
    if redirect:
        return Response("", status_code=303, headers={"Location": redirect, **NO_STORE})
    return page("ありがとうございます / Thank you", f"<p>{html.escape(thanks)}</p>")


def refused_page(message: str, status: int) -> Response:
    body = f'<p class="error" role="alert">{html.escape(message)}</p>'
    return page("送信できませんでした / Not sent", body, status)


# --- the confirmation -------------------------------------------------------------------------
def _client(request: Any) -> Any:
    from chalicelib.services.signups import Client

    identity = (request.context or {}).get("identity") or {}
    return Client(str(identity.get("sourceIp", "")), request.headers.get("user-agent", ""))


def _gone() -> Response:
    return page(
        "このリンクは使用済みか期限切れです / This link was used or has expired",
        "<p>登録が確定済みでなければ、もう一度フォームからお申し込みください。</p>"
        "<p>If your subscription is not confirmed yet, please sign up again.</p>",
        410,
    )


@form_routes.route("/confirm/{token}", methods=["GET"])
def confirm_page(token: str) -> Response:
    """Shows what will be confirmed, with a button: a mail scanner's GET confirms nothing."""
    from chalicelib import bootstrap
    from chalicelib.domain.tokens import InvalidTokenError

    try:
        waiting = bootstrap.signups().waiting(token)
    except InvalidTokenError:
        return page("リンクが無効です / Link not recognised", "<p>This link is not valid.</p>", 404)
    if waiting is None:
        return _gone()
    body = (
        f"<p>{html.escape(waiting['email'])}</p>"
        "<p>このアドレスへの配信登録を確定しますか？ Confirm your subscription for this address?</p>"
        '<form method="post"><button type="submit" id="confirm">登録を確定する / Confirm</button></form>'
    )
    return page("登録の確認 / Confirm your subscription", body)


@form_routes.route("/confirm/{token}", methods=["POST"], content_types=[FORM_POST, "text/plain"])
def confirm(token: str) -> Response:
    from chalicelib import bootstrap
    from chalicelib.domain.errors import BadInputError, NotFoundError
    from chalicelib.domain.tokens import InvalidTokenError

    request = _request()
    try:
        done = bootstrap.signups().confirm(token, _client(request))
    except InvalidTokenError:
        return page("リンクが無効です / Link not recognised", "<p>This link is not valid.</p>", 404)
    except (BadInputError, NotFoundError) as error:
        return refused_page(str(error), 409)
    if done is None:
        return _gone()
    onward = (
        f'<p><a href="{html.escape(done["continue_url"])}" id="continue">サイトへ戻る / Back to the site</a></p>'
        if done["continue_url"]
        else ""
    )
    body = f"<p>{html.escape(done['email'])}</p><p>ご登録が完了しました。 You are subscribed.</p>{onward}"
    return page("登録が完了しました / Subscribed", body)


def sign_up(site: Any, body: Mapping[str, Any], request: Any, plain: bool, origin: str | None) -> Response:
    """A post to a defined form: a page (plain HTML post) or JSON (the tag), whatever happens."""
    from chalicelib import bootstrap
    from chalicelib.domain.errors import BadInputError, NotFoundError, TooManyError
    from chalicelib.services.signups import SignupBusyError

    signups = bootstrap.signups()
    cors: dict[str, str | list[str]] = dict(requests.cors(origin))
    try:
        form = signups.form(site, str(body.get("form", "")))
        taken = signups.submit(site, form, body, _client(request))
    except (BadInputError, NotFoundError, SignupBusyError) as error:
        status = {TooManyError: 429, SignupBusyError: 503}.get(type(error), 400)
        status = 404 if isinstance(error, NotFoundError) else status
        if plain:
            return refused_page(str(error), status)
        return Response(
            {"Code": type(error).__name__, "Message": str(error)}, status_code=status, headers=cors
        )
    if plain:
        return taken_page(taken.thanks, taken.redirect)
    return Response({"accepted": True, "thanks": taken.thanks}, status_code=202, headers=cors)
