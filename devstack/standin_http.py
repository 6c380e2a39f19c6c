"""What the local stand-ins of services with no emulator (LINE, End User Messaging SMS) share: how
an answer goes back -- its length, a page's content policy, never cached."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler


def write_answer(
    handler: BaseHTTPRequestHandler,
    status: int,
    data: bytes,
    kind: str,
    policy: str,
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", kind)
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("Content-Security-Policy", policy)
    handler.send_header("X-Content-Type-Options", "nosniff")
    handler.send_header("Cache-Control", "no-store")
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)
