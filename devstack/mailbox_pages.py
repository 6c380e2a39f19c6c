"""The local mailbox's pages: the list of what SES took, one message (headers, text, the HTML as
the recipient's mail client would show it, the raw MIME), and buttons that make SES bounce or
complain about it.  No script, nothing from a CDN; the mail's HTML is shown in a sandboxed
frame whose links open the local API in a new tab (so clicks and opens are tracked as on AWS).
"""

from __future__ import annotations

import html
import json
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devstack.mailbox import MailPump
from devstack.standin_http import write_answer

STYLE = """body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2327;background:#f6f7f7}
header{background:#1d2327;color:#fff;padding:.6em 1.2em}header a{color:#fff;text-decoration:none}
main{padding:1em 1.2em;max-width:1100px}table{border-collapse:collapse;width:100%;background:#fff}
td,th{padding:.4em .6em;border-bottom:1px solid #dcdcde;text-align:left;vertical-align:top;overflow-wrap:anywhere}
iframe,table,pre{box-sizing:border-box;max-width:100%}pre,code{overflow-wrap:anywhere}
th{background:#f0f0f1}.ev{font-size:.85em;color:#50575e}iframe{width:100%;height:520px;border:1px solid
#dcdcde;background:#fff}pre{white-space:pre-wrap;background:#fff;padding:.8em;border:1px solid #dcdcde}
form{display:inline}button{margin-right:.5em}.empty{color:#50575e}"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; form-action 'self'; img-src 'self'"
# The mail's own HTML: no script, its images (the open pixel) and links as a mail client has them.
MAIL_CSP = "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline'"
ASKABLE: dict[str, tuple[str, dict[str, str]]] = {"bounce": ("Bounce", {}), "complain": ("Complaint", {})}


def _layout(title: str, body: str) -> bytes:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<style>{STYLE}</style></head><body><header><a href="/">Sodate local mailbox</a></header>'
        f"<main>{body}</main></body></html>"
    ).encode()


def listing(mails: list[dict[str, Any]]) -> bytes:
    if not mails:
        return _layout("Mailbox", '<p class="empty">No mail yet: what SES takes shows here.</p>')
    rows = "".join(
        f"<tr><td>{m['number']}</td><td>{html.escape(m['received_at'])}</td>"
        f"<td>{html.escape(', '.join(m['to']))}</td>"
        f'<td><a href="/m/{m["number"]}">{html.escape(m["subject"] or "(no subject)")}</a></td>'
        f'<td class="ev">{html.escape(" · ".join(m["events"]))}</td></tr>'
        for m in mails
    )
    table = f"<table><tr><th>#</th><th>taken (UTC)</th><th>to</th><th>subject</th><th>SES events</th></tr>{rows}</table>"
    return _layout(f"Mailbox ({len(mails)})", f"<h1>Mail SES took</h1>{table}")


def message(mail: dict[str, Any]) -> bytes:
    number = mail["number"]
    headers = "".join(
        f"<tr><th>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
        for name, value in mail["headers"]
    )
    shown = f'<iframe title="the mail as sent" src="/m/{number}/html"></iframe>' if mail["html"] else ""
    buttons = "".join(
        f'<form method="post" action="/m/{number}/{what}"><button>{label}</button></form>'
        for what, label in (("bounce", "Bounce it (SES event)"), ("complain", "Complain (SES event)"))
    )
    body = (
        f"<h1>{html.escape(mail['subject'] or '(no subject)')}</h1>"
        f"<p>To {html.escape(', '.join(mail['to']))} · from {html.escape(mail['from'])} · "
        f"SES message id <code>{html.escape(mail['ses_id'])}</code> · "
        f'events: <span class="ev">{html.escape(" · ".join(mail["events"]))}</span></p>'
        f'<p>{buttons} <a href="/m/{number}/raw">raw MIME (.eml)</a></p>{shown}'
        f"<h2>Text</h2><pre>{html.escape(mail['text'])}</pre>"
        f"<h2>Headers</h2><table>{headers}</table>"
    )
    return _layout(mail["subject"] or "Mail", body)


def mail_html(mail: dict[str, Any]) -> bytes:
    """The HTML part, links opening outside the frame (as a mail client opens them)."""
    return ('<base target="_blank">' + str(mail["html"])).encode()


def serve(pump: MailPump, port: int = 0) -> ThreadingHTTPServer:
    store = pump.store

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/":
                return self._send(200, listing(store.newest()))
            if path == "/messages.json":
                body = json.dumps({"messages": store.newest()}, ensure_ascii=False).encode()
                return self._send(200, body, "application/json")
            found = re.fullmatch(r"/m/(\d{1,9})(/html|/raw)?", path)
            mail = store.get(int(found.group(1))) if found else None
            if found is None or mail is None:
                return self._send(404, _layout("Not found", "<p>No such mail.</p>"))
            if found.group(2) == "/html":
                return self._send(200, mail_html(mail), csp=MAIL_CSP)
            if found.group(2) == "/raw":
                return self._send(200, store.raw(mail["number"]) or b"", "message/rfc822")
            return self._send(200, message(mail))

        def do_POST(self) -> None:
            found = re.fullmatch(r"/m/(\d{1,9})/(bounce|complain)", self.path)
            mail = store.get(int(found.group(1))) if found else None
            origin = self.headers.get("Origin")
            if origin not in (None, "null", f"http://{self.headers.get('Host')}"):
                return self._send(403, _layout("Refused", "<p>Only this page may ask for events.</p>"))
            if found is None or mail is None:
                return self._send(404, _layout("Not found", "<p>No such mail.</p>"))
            kind, why = ASKABLE[found.group(2)]
            pump.ask(mail, kind, mail["to"], **why)
            self.send_response(303)
            self.send_header("Location", f"/m/{mail['number']}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _send(
            self, status: int, body: bytes, kind: str = "text/html; charset=utf-8", csp: str = CSP
        ) -> None:
            write_answer(self, status, body, kind, csp)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)
