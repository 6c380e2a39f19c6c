"""Fetch one page of a customer's site for tag verification (or call a webhook), defensively.

The host is resolved once, every address is judged (domain.tag_check), and
the connection goes to that checked address -- so DNS cannot swap in a
private one between the check and the fetch.  No redirects are followed,
reads stop at 1 MiB, and the whole fetch has a short timeout.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from chalicelib.domain.errors import BadInputError
from chalicelib.domain.limits import FETCHED_PAGE_BYTES
from chalicelib.domain.tag_check import address_refusal

MAX_BYTES = FETCHED_PAGE_BYTES
TIMEOUT_SECONDS = 5


class FetchRefusedError(BadInputError):
    pass


@dataclass(frozen=True)
class Page:
    status: int
    html: str


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, address: str, port: int) -> None:
        super().__init__(host, port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), TIMEOUT_SECONDS)
        assert self._context is not None  # type: ignore[attr-defined]
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]


def fetch(url: str, allow_private: bool) -> Page:
    return call("GET", url, allow_private, None, {"User-Agent": "Sodate tag check"})


def call(method: str, url: str, allow_private: bool, body: bytes | None, headers: dict[str, str]) -> Page:
    """One request to a checked address (tag checks GET pages; scenario webhooks POST)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise FetchRefusedError(f"{host} does not resolve.") from None
    addresses = sorted({str(info[4][0]) for info in infos})
    for address in addresses:
        refusal = address_refusal(address, allow_private)
        if refusal:
            raise FetchRefusedError(f"Refused to fetch {url}: {refusal}.")
    address = addresses[0]
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = _PinnedHTTPSConnection(host, address, port)
    else:
        connection = http.client.HTTPConnection(address, port, timeout=TIMEOUT_SECONDS)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(method, path, body=body, headers={"Host": parts.netloc, **headers})
        response = connection.getresponse()
        body = response.read(MAX_BYTES)
    except (OSError, http.client.HTTPException) as error:
        raise FetchRefusedError(f"Could not fetch {url}: {error}.") from None
    finally:
        connection.close()
    charset = response.headers.get_content_charset() or "utf-8"
    return Page(response.status, body.decode(charset, errors="replace"))


def status_of_post(allow_private: bool, url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST a body (a scenario's webhook) and answer the HTTP status."""
    return call("POST", url, allow_private, body, headers).status


def status_and_html(allow_private: bool, url: str) -> tuple[int, str]:
    """GET a page (a site's, to find its tag): the HTTP status and the HTML."""
    page = fetch(url, allow_private)
    return page.status, page.html
