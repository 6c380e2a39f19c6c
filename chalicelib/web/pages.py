"""The HTML pages the API serves itself (unsubscribe, confirmation, hosted forms): one frame,
a policy that runs no script and posts only to the API, nothing cached, no referrer."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.web import requests

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
FRAME = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">
<title>{title}</title><style>{style}</style></head><body><main>
<h1>{title}</h1>{body}</main></body></html>"""
STYLE = (
    "body{font-family:system-ui,sans-serif;line-height:1.6;margin:0;padding:1rem;color:#1a1a1a}"
    "main{max-width:34rem;margin:2rem auto}label{display:block;font-weight:600;margin-top:1rem}"
    "input[type=email],input[type=text],input[type=tel],select{width:100%;box-sizing:border-box;"
    "font-size:1rem;padding:.6rem;border:1px solid #777;border-radius:4px}"
    "fieldset{border:1px solid #bbb;border-radius:4px;margin-top:1rem}fieldset label{font-weight:400}"
    "button{margin-top:1.2rem;font-size:1rem;padding:.7rem 1.4rem;border:0;border-radius:4px;"
    "background:#2b6e3f;color:#fff;cursor:pointer}button:focus,input:focus{outline:3px solid #f0b429}"
    ".hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}"
    ".consent{font-size:.9rem;color:#333;background:#f4f4f4;padding:.6rem;border-radius:4px}"
    ".error{color:#a00;font-weight:600}"
)


def page(
    title: str, body: str, status: int = 200, lang: str = "ja", referrer: str = "no-referrer"
) -> Response:
    """`title` and `body` are HTML already escaped by the caller.  A page whose address holds a
    token sends no referrer; a form page says `same-origin`, so its post carries its Origin."""
    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": requests.PAGE_POLICY,
        **NO_STORE,
        "Referrer-Policy": referrer,
    }
    html = FRAME.format(lang=lang, title=title, body=body, style=STYLE)
    return Response(html, status_code=status, headers=headers)
