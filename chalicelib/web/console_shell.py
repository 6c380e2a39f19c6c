"""The frame of every signed-in console page: the header (where you are, who you are, the way
out, the other language), the built style sheet and script, and the page's own heading.  The
script draws the page from the console's JSON API; the policy lets it load from here alone."""

from __future__ import annotations

import html
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from chalice.app import Response

from chalicelib.web import console_assets
from chalicelib.web.console_pages import ROLE_NAMES, WORDS
from chalicelib.web.pages import NO_STORE

APP_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
CURRENT, CHOSEN = ' aria-current="page"', ' aria-current="true"'
PAGES = {  # what the header links to: page -> (path from the API's root, words)
    "overview": ("console", {"ja": "概要", "en": "Overview"}),
    "contacts": ("console/contacts", {"ja": "コンタクト", "en": "Contacts"}),
    "segments": ("console/segments", {"ja": "セグメント", "en": "Segments"}),
    "imports": ("console/imports", {"ja": "インポート", "en": "Imports"}),
    "scenarios": ("console/scenarios", {"ja": "シナリオ", "en": "Scenarios"}),
    "sites": ("console/sites", {"ja": "サイト", "en": "Sites"}),
    "definitions": ("console/definitions", {"ja": "定義", "en": "Definitions"}),
    "users": ("console/users", {"ja": "ユーザー", "en": "Users"}),
}
ADMIN_ONLY = frozenset({"users"})  # in the header for admins only (the page refuses anyone else)
# make run's local mailbox, shown in a frame: in the header only where there is one.
MAILBOX = ("console/mailbox", {"ja": "メールボックス", "en": "Mailbox"})
SCRIPTS = {"definitions": "editor.js"}  # a page with a script of its own (the others share console.js)
# The editor (CodeMirror) writes its styles into a <style> element: allowed by a nonce made for
# each answer, which its script reads from <body data-nonce> and gives to the editor.
STYLE_NONCE = frozenset({"definitions"})
RANGE_WORDS = {
    "ja": {
        "today": "今日",
        "7d": "7日間",
        "30d": "30日間",
        "90d": "90日間",
        "from": "開始日",
        "to": "終了日",
        "show": "表示",
        "ranges": "期間",
    },
    "en": {
        "today": "Today",
        "7d": "7 days",
        "30d": "30 days",
        "90d": "90 days",
        "from": "From",
        "to": "To",
        "show": "Show",
        "ranges": "Time range",
    },
}


def page(
    lang: str,
    name: str,
    who: Any,
    body: str = "",
    params: Mapping[str, str] | None = None,
    root: str = "",
    connect: str = "",
    mailbox: str = "",
    tag: str = "",
) -> Response:
    """A signed-in page: `who` is the session (email, role, csrf); `params` its query, which the
    other language's link keeps; `root` the way from the page back to the API's root ("" for
    /console, "../" for /console/<page>), so every link is relative and works under a stage path;
    `connect` one more origin its script may send to (the bucket, for the import wizard);
    `mailbox` the local mailbox's address (make run), which the header then links to; `tag` where
    sites load the tag from when that is not the API (the beacon function's URL)."""
    words, files = WORDS[lang], console_assets.manifest()
    title = {**PAGES, "mailbox": MAILBOX}[name][1][lang]
    other = "en" if lang == "ja" else "ja"
    shown = {**PAGES, "mailbox": MAILBOX} if mailbox else PAGES
    if who.role != "admin":
        shown = {page_name: entry for page_name, entry in shown.items() if page_name not in ADMIN_ONLY}
    nav = "".join(
        f'<li><a href="{root}{path}?lang={lang}"{CURRENT if page_name == name else ""}>'
        f"{html.escape(label[lang])}</a></li>"
        for page_name, (path, label) in shown.items()
    )
    role = html.escape(who.role)
    nonce = secrets.token_urlsafe(18) if name in STYLE_NONCE else ""
    policy = (
        APP_POLICY.replace("style-src 'self'", f"style-src 'self' 'nonce-{nonce}'") if nonce else APP_POLICY
    )
    if connect:
        policy = policy.replace("connect-src 'self'", f"connect-src 'self' {connect}")
    if name == "mailbox":
        origin = "/".join(mailbox.split("/")[:3])
        policy = policy.replace("default-src 'none';", f"default-src 'none'; frame-src {origin};")
        body = f'<iframe id="mailbox" title="{html.escape(title)}" src="{html.escape(mailbox)}"></iframe>'
    document = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">'
        f"<title>{html.escape(title)} · {words['title']}</title>"
        f'<link rel="stylesheet" href="{root}console/static/{files["console-style.css"]}">'
        f'<script defer src="{root}console/static/{files[SCRIPTS.get(name, "console.js")]}"></script></head>'
        f'<body data-page="{name}" data-role="{role}" data-root="{root}"{f" data-nonce={nonce!r}" if nonce else ""}'
        f"{f' data-tag={html.escape(tag, quote=True)!r}' if tag else ''}>"
        f'<header class="top"><span class="brand">Sodate</span><nav aria-label="{words["title"]}"><ul>{nav}</ul></nav>'
        f'<div class="who"><span id="who"><span id="email">{html.escape(who.email)}</span> '
        f'(<span id="role" data-role="{role}">{html.escape(ROLE_NAMES.get(lang, {}).get(who.role, who.role))}</span>)'
        f'</span><form method="post" action="{root}console/sign-out?lang={lang}">'
        f'<input type="hidden" name="csrf_token" value="{html.escape(who.csrf)}">'
        f'<button type="submit" id="sign-out">{words["sign_out"]}</button></form>'
        f'<a href="?{html.escape(urlencode({**(params or {}), "lang": other}))}" hreflang="{other}" lang="{other}">'
        f"{words['other']}</a></div></header>"
        f'<main id="app"><h1>{html.escape(title)}</h1>{body}</main></body></html>'
    )
    return Response(
        document,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": policy,
            **NO_STORE,
            "Referrer-Policy": "same-origin",  # its forms' posts carry their Origin, which is checked
        },
    )


def ranges(lang: str, params: dict[str, str], keep: tuple[str, ...] = ()) -> str:
    """The time-range links (today, 7, 30, 90 days) and a form for any other range; `keep`
    names the page's own parameters they carry along (a segment's name)."""
    words = RANGE_WORDS[lang]
    custom = "from" in params or "to" in params
    chosen = "" if custom else params.get("range", "7d")
    kept = {k: params[k] for k in keep if k in params}
    carried = html.escape(urlencode(kept) + "&") if kept else ""
    hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in kept.items())
    links = "".join(
        f'<a href="?{carried}range={key}&amp;lang={lang}"{CHOSEN if key == chosen else ""}>{words[key]}</a>'
        for key in ("today", "7d", "30d", "90d")
    )
    first, last = html.escape(params.get("from", "")[:10]), html.escape(params.get("to", "")[:10])
    return (
        f'<div class="ranges" role="group" aria-label="{words["ranges"]}">{links}'
        f'<form method="get" id="custom-range"><input type="hidden" name="lang" value="{lang}">{hidden}'
        f'<label for="from">{words["from"]}<input type="date" id="from" name="from" value="{first}" required></label>'
        f'<label for="to">{words["to"]}<input type="date" id="to" name="to" value="{last}" required></label>'
        f'<button type="submit">{words["show"]}</button></form></div>'
    )
