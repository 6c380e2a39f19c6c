"""A tiny shop on localhost that carries the tag, for trying tracking by hand
(and for the browser test): a home page, a pricing page and a 'buy' button."""

from __future__ import annotations

import html
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PAGES = {
    "/": "Home",
    "/pricing": "Pricing",
    "/products/tea": "Green tea",
    "/newsletter": "Newsletter",
    "/welcome": "Welcome",
}
# /welcome plays a site whose consent banner said yes before the tag loaded (consent required).
CONSENTED = "<script>sodate.consent()</script>"

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - Demo shop</title>
<script>window.sodate=window.sodate||{{q:[]}};["event","conversion","consent","form"].forEach(function(m){{
sodate[m]=sodate[m]||function(){{sodate.q.push([m,arguments])}}}})</script>
{consent}<script async src="{api}/tag.js" data-site="{site}"{mode}></script></head>
<body><h1>{title}</h1>
<nav>{links}</nav>
<p><button id="spa" onclick="history.pushState({{}}, '', '/products/tea?utm_source=spa')">Open tea (SPA)</button>
<button id="buy" onclick="sodate.conversion('purchase', {{order_id: 'D-' + Date.now(), skus: 'TEA-100', quantity: 2}}, 1200)">Buy tea</button></p>
{extra}</body></html>"""
# The example `newsletter` form (examples/config/forms.yaml), drawn into the page by the tag, and
# the same form as a page of its own on the API.
SIGNUP = """<h2>ニュースレター / Newsletter</h2><div id="signup" lang="ja"></div>
<script>sodate.form("newsletter", document.getElementById("signup"))</script>
<p><a id="hosted" href="{api}/forms/{site}/newsletter">The same form on its own page</a></p>
"""


def page(path: str, api: str, site: str) -> str:
    links = " | ".join(f'<a href="{p}">{html.escape(t)}</a>' for p, t in PAGES.items())
    title = PAGES.get(path, "Not found")
    extra = SIGNUP.format(api=html.escape(api), site=html.escape(site)) if path == "/newsletter" else ""
    welcome = path == "/welcome"
    return TEMPLATE.format(
        title=html.escape(title),
        api=html.escape(api),
        site=html.escape(site),
        links=links,
        extra=extra,
        consent=CONSENTED if welcome else "",
        mode=' data-consent="required"' if welcome else "",
    )


def serve(api: str, site: str, port: int = 0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            body = page(path, api, site).encode()
            self.send_response(200 if path in PAGES else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)
