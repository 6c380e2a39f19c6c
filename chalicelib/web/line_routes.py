"""LINE's doors: the webhook LINE posts to, and our account-link page a LINE user is sent to."""

from __future__ import annotations

import html
from typing import Any

from chalice.app import BadRequestError, Blueprint, Response, UnauthorizedError

from chalicelib.web import requests
from chalicelib.web.pages import NO_STORE, page

line_routes = Blueprint(__name__)
LINK_TITLE = "LINE連携 / Link LINE"


def _request() -> Any:
    return line_routes.current_request


@line_routes.route("/line/webhook", methods=["POST"], content_types=["application/json"])
def line_webhook() -> dict[str, int]:
    """Signed by LINE, or refused (401) before anything in the body is read; 400 for a signed
    body that is not a webhook's.  Each event is acted on once, whatever LINE redelivers."""
    from chalicelib import bootstrap
    from chalicelib.domain.errors import BadInputError
    from chalicelib.domain.line_webhooks import BadSignatureError

    request = _request()
    raw = request.raw_body or b""
    body = raw.encode("utf-8") if isinstance(raw, str) else raw
    try:
        return bootstrap.line_inbound().receive(body, request.headers.get("x-line-signature"))
    except BadSignatureError as error:
        raise UnauthorizedError(str(error)) from None
    except BadInputError as error:
        raise BadRequestError(str(error)) from None


@line_routes.route("/line/link", methods=["GET"])
def line_link_page() -> Response:
    """From LINE's offer (?linkToken=): who are you -- an address we mail the link to.  From that
    mail (?t=): the person we know, asked to confirm.  Nothing changes on a GET (mail scanners
    and link previews open links)."""
    from chalicelib import bootstrap
    from chalicelib.domain.errors import NotFoundError
    from chalicelib.domain.line_people import valid_link_token
    from chalicelib.domain.tokens import InvalidTokenError

    query = _request().query_params or {}
    if "t" not in query:
        if not valid_link_token(query.get("linkToken")):
            return _not_known()
        return page(LINK_TITLE, _ask_address(query["linkToken"]), referrer="same-origin")
    try:
        contact = bootstrap.line_inbound().who(query["t"])
    except (InvalidTokenError, NotFoundError):
        return _not_known()
    form = (
        f"<p>{html.escape(str(contact['email']))}</p><p>このアカウントとLINEを連携しますか？ "
        "Link this account to your LINE account?</p>"
        f'<form method="post"><input type="hidden" name="t" value="{html.escape(query["t"])}">'
        '<button type="submit" id="link">連携する / Link</button></form>'
    )
    return page(LINK_TITLE, form)


@line_routes.route("/line/link", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
def line_link() -> Response:
    """The address given: the link is mailed to it (if we know it; the answer is the same).  The
    mailed link confirmed: off to LINE's account-link dialog with a nonce bound to the person."""
    from chalicelib import bootstrap
    from chalicelib.domain.errors import BadInputError, NotFoundError, TooManyError
    from chalicelib.domain.tokens import InvalidTokenError

    request = _request()
    fields = {k: v[0] for k, v in requests.form_fields(request.raw_body, 4, 10).items()}
    inbound = bootstrap.line_inbound()
    try:
        if "t" not in fields:
            ip = str(((request.context or {}).get("identity") or {}).get("sourceIp", ""))
            inbound.mail_link(fields.get("linkToken"), fields.get("email"), ip)
            return page(
                LINK_TITLE,
                "<p>メールをお送りしました（ご登録のアドレスの場合）。 "
                "If we know this address, a mail with the link is on its way.</p>",
            )
        target = inbound.begin_link(fields["t"])
    except (InvalidTokenError, NotFoundError):
        return _not_known()
    except BadInputError as error:
        status = 429 if isinstance(error, TooManyError) else 400
        return page(LINK_TITLE, f'<p class="error">{html.escape(str(error))}</p>', status)
    return Response("", status_code=303, headers={"Location": target, **NO_STORE})


def _ask_address(link_token: str) -> str:
    return (
        "<p>LINEと連携する会員のメールアドレスを入力してください。確認のリンクをお送りします。 "
        "Your email address with us: we mail you the link that completes it.</p>"
        f'<form method="post"><input type="hidden" name="linkToken" value="{html.escape(link_token)}">'
        '<label for="email">メールアドレス / Email</label>'
        '<input type="email" id="email" name="email" required autocomplete="email">'
        '<button type="submit" id="send">送信 / Send</button></form>'
    )


def _not_known() -> Response:
    return page(
        LINK_TITLE,
        "<p>このリンクは無効か期限切れです。LINEで「連携」と送ると、新しいリンクが届きます。</p>"
        "<p>This link is not valid or has expired: write 'link' to our LINE account for a new one.</p>",
        404,
    )
