"""Tracked links: every web link in a mail, and its open pixel, carry a signed per-recipient token.

The destination travels inside the signed token, so a click can only ever be
sent where the mail pointed: a tampered or made-up token redirects nowhere
(Mautic GHSA-5mm3-3g7p-9868 redirected to hosts the mail never named).
Links other than http(s) (mailto:, tel:, #anchors) are left as they are.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from urllib.parse import urlsplit

from ..limits import TRACKED_URL_CHARS
from ..tokens import CLICK, OPEN, InvalidTokenError, sign, verify

_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
MAX_URL = TRACKED_URL_CHARS  # longer links stay untracked: their token would pass the token limit


def track(page: str, api: str, message_id: str, key: str, expires_at: int) -> str:
    """The HTML with each web link sent through `<api>/c/<token>` and an open pixel at the end."""

    def rewrite(match: re.Match[str]) -> str:
        url = match.group(3)
        url = (html.unescape(url) if "&" in url else url).strip()
        if not _is_web(url) or len(url) > MAX_URL:
            return match.group(0)
        token = sign({"m": message_id, "u": url}, key, expires_at)
        return f"{match.group(1)}{match.group(2)}{api}/c/{token}{match.group(2)}"

    tracked = _HREF.sub(rewrite, page)
    pixel = f'<img src="{api}/o/{sign({"m": message_id}, key, expires_at)}" width="1" height="1" alt="">'
    return tracked.replace("</body>", pixel + "</body>", 1) if "</body>" in tracked else tracked + pixel


def click(token: str, key: str, now: float) -> tuple[str, str]:
    """(message id, destination) of a click; InvalidTokenError for anything not signed by us."""
    claims = verify(token, key, now, CLICK)
    url, message_id = claims.get("u"), claims.get("m")
    if not isinstance(url, str) or not _is_web(url) or not isinstance(message_id, str):
        raise InvalidTokenError("malformed")
    return message_id, url


def opened(token: str, key: str, now: float) -> str:
    claims = verify(token, key, now, OPEN)
    if not isinstance(claims.get("m"), str):
        raise InvalidTokenError("malformed")
    return str(claims["m"])


@lru_cache(maxsize=4096)  # a template's links are the same for every recipient
def _is_web(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
