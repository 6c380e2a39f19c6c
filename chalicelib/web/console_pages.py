"""The console's door: the sign-in page and choosing a password (the signed-in pages are
console_shell's).

Japanese or English from the browser's Accept-Language (`?lang=ja|en` switches).  The pages run
no script; their one style element is allowed by its hash, nothing else loads, forms post only
to the API itself.  Links and redirects are relative, so the pages work under API Gateway's stage
path (/api/console/...) as well as on the local API (/console/...).
"""

from __future__ import annotations

import base64
import hashlib
import html
from typing import Any

from chalice.app import Response

from chalicelib.web.pages import NO_STORE, STYLE

WORDS: dict[str, dict[str, str]] = {
    "ja": {
        "title": "Sodate コンソール",
        "sign_in": "サインイン",
        "email": "メールアドレス",
        "password": "パスワード",
        "choose": "新しいパスワードを設定",
        "choose_note": "管理者が発行した仮のパスワードでサインインしました。ご自分のパスワードを決めてください"
        "（12文字以上、大文字・小文字・数字・記号を含む）。",
        "new_password": "新しいパスワード",
        "repeat": "新しいパスワード（確認）",
        "save": "設定してサインイン",
        "signed_in_as": "サインイン中",
        "role": "ロール",
        "sign_out": "サインアウト",
        "signed_out": "サインアウトしました。",
        "forgot": "パスワードをお忘れですか？",
        "forgot_title": "パスワードの再設定",
        "forgot_note": "アカウントのメールアドレスを入力してください。確認コードをお送りします。",
        "send_code": "確認コードを送る",
        "reset_note": "アカウントがあれば、確認コードをメールでお送りしました。コードと新しいパスワードを入力してください"
        "（12文字以上、大文字・小文字・数字・記号を含む）。",
        "code": "確認コード",
        "reset": "パスワードを再設定",
        "reset_done": "パスワードを再設定しました。新しいパスワードでサインインしてください。",
        "other": "English",
    },
    "en": {
        "title": "Sodate console",
        "sign_in": "Sign in",
        "email": "Email address",
        "password": "Password",
        "choose": "Choose your password",
        "choose_note": "You signed in with a temporary password from an admin. Choose your own "
        "(at least 12 characters, with upper- and lower-case letters, a digit and a symbol).",
        "new_password": "New password",
        "repeat": "New password again",
        "save": "Save and sign in",
        "signed_in_as": "Signed in as",
        "role": "Role",
        "sign_out": "Sign out",
        "signed_out": "You have signed out.",
        "forgot": "Forgot your password?",
        "forgot_title": "Reset your password",
        "forgot_note": "Type your account's email address; we will mail you a code.",
        "send_code": "Send the code",
        "reset_note": "If the address has an account, a code is on its way by mail. Type it with a new "
        "password (at least 12 characters, with upper- and lower-case letters, a digit and a symbol).",
        "code": "Code from the mail",
        "reset": "Set the new password",
        "reset_done": "Your password is set. Sign in with the new one.",
        "other": "日本語",
    },
}
ROLE_NAMES = {"ja": {"admin": "管理者", "marketer": "マーケター", "analyst": "アナリスト"}}
_CSS = (
    STYLE
    + "input[type=password],input[type=text]{width:100%;box-sizing:border-box;font-size:1rem;padding:.6rem;"
    + ("border:1px solid #777;border-radius:4px}header{display:flex;justify-content:space-between}")
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()
POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def language(request: Any) -> str:
    """`?lang=` when given, else the first of ja/en the browser prefers (q-values honoured); ja."""
    asked = ((request.query_params or {}) if request else {}).get("lang", "")
    if asked in WORDS:
        return str(asked)
    header = (request.headers.get("accept-language") if request else None) or ""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in WORDS and weight > 0:
            ranked.append((-weight, index, primary))
    return min(ranked)[2] if ranked else "ja"


def _frame(lang: str, title: str, body: str, status: int, headers: dict[str, Any] | None = None) -> Response:
    other = "en" if lang == "ja" else "ja"
    page = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">'
        f"<title>{html.escape(title)} · {WORDS[lang]['title']}</title><style>{_CSS}</style></head><body><main>"
        f"<h1>{html.escape(title)}</h1>{body}"
        f'<p><a href="?lang={other}" hreflang="{other}">{WORDS[lang]["other"]}</a></p></main></body></html>'
    )
    return Response(
        page,
        status_code=status,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": POLICY,
            **NO_STORE,
            "Referrer-Policy": "same-origin",  # a form's post carries its Origin, which is checked
            **(headers or {}),
        },
    )


def _error(message: str) -> str:
    return f'<p class="error" role="alert" id="error">{html.escape(message)}</p>' if message else ""


def sign_in(lang: str, message: str = "", email: str = "", status: int = 200, note: str = "") -> Response:
    words = WORDS[lang]
    notice = f'<p role="status">{html.escape(note)}</p>' if note else ""
    body = (
        f"{notice}{_error(message)}"
        f'<form method="post" action="sign-in?lang={lang}" accept-charset="utf-8">'
        f'<label for="email">{words["email"]}</label>'
        f'<input id="email" name="email" type="email" autocomplete="username" required maxlength="254"'
        f' value="{html.escape(email)}">'
        f'<label for="password">{words["password"]}</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password" required'
        ' maxlength="256">'
        f'<button type="submit" id="sign-in">{words["sign_in"]}</button></form>'
        f'<p><a href="forgot?lang={lang}" id="forgot">{words["forgot"]}</a></p>'
    )
    return _frame(lang, words["sign_in"], body, status)


def forgot(lang: str, message: str = "", email: str = "", status: int = 200) -> Response:
    words = WORDS[lang]
    body = (
        f"<p>{html.escape(words['forgot_note'])}</p>{_error(message)}"
        f'<form method="post" action="forgot?lang={lang}" accept-charset="utf-8">'
        f'<label for="email">{words["email"]}</label>'
        f'<input id="email" name="email" type="email" autocomplete="username" required maxlength="254"'
        f' value="{html.escape(email)}">'
        f'<button type="submit" id="send-code">{words["send_code"]}</button></form>'
    )
    return _frame(lang, words["forgot_title"], body, status)


def reset(lang: str, email: str, message: str = "", status: int = 200) -> Response:
    words = WORDS[lang]
    body = (
        f"<p>{html.escape(words['reset_note'])}</p><p>{html.escape(email)}</p>{_error(message)}"
        f'<form method="post" action="reset?lang={lang}" accept-charset="utf-8">'
        f'<input type="hidden" name="email" value="{html.escape(email)}">'
        f'<label for="code">{words["code"]}</label>'
        '<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required'
        ' maxlength="12">'
        f'<label for="new_password">{words["new_password"]}</label>'
        '<input id="new_password" name="new_password" type="password" autocomplete="new-password" required'
        ' minlength="12" maxlength="256">'
        f'<label for="repeat">{words["repeat"]}</label>'
        '<input id="repeat" name="repeat" type="password" autocomplete="new-password" required maxlength="256">'
        f'<button type="submit" id="reset">{words["reset"]}</button></form>'
    )
    return _frame(lang, words["forgot_title"], body, status)


def choose_password(lang: str, step: str, email: str, message: str = "", status: int = 200) -> Response:
    words = WORDS[lang]
    body = (
        f"<p>{html.escape(words['choose_note'])}</p><p>{html.escape(email)}</p>{_error(message)}"
        f'<form method="post" action="set-password?lang={lang}" accept-charset="utf-8">'
        f'<input type="hidden" name="step" value="{html.escape(step)}">'
        f'<input type="hidden" name="email" value="{html.escape(email)}">'
        f'<label for="new_password">{words["new_password"]}</label>'
        '<input id="new_password" name="new_password" type="password" autocomplete="new-password" required'
        ' minlength="12" maxlength="256">'
        f'<label for="repeat">{words["repeat"]}</label>'
        '<input id="repeat" name="repeat" type="password" autocomplete="new-password" required maxlength="256">'
        f'<button type="submit" id="save">{words["save"]}</button></form>'
    )
    return _frame(lang, words["choose"], body, status)


def see_other(location: str, headers: dict[str, Any] | None = None) -> Response:
    """A 303 to a relative address (after a post, or to the sign-in page)."""
    return Response("", status_code=303, headers={"Location": location, **NO_STORE, **(headers or {})})
