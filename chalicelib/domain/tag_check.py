"""Is the tag on a page?  Reading HTML and judging addresses, without I/O.

The fetch itself lives in aws/page_fetch.py; this module decides which
addresses may be fetched (no SSRF into private networks) and what the page
says about the tag.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

_SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(r"""([a-zA-Z_:-]+)\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))""")


@dataclass(frozen=True)
class TagFinding:
    present: bool
    site_ids: tuple[str, ...]


def find_tag(html: str) -> TagFinding:
    """Script elements whose src ends in /tag.js, and the data-site each carries."""
    site_ids = []
    present = False
    for match in _SCRIPT.finditer(html):
        attrs = {
            m.group(1).lower(): m.group(3) or m.group(4) or m.group(5) or ""
            for m in _ATTR.finditer(match.group(1))
        }
        src = attrs.get("src", "").split("?", 1)[0].split("#", 1)[0]
        if src.endswith("/tag.js"):
            present = True
            site_ids.append(attrs.get("data-site", ""))
    return TagFinding(present, tuple(site_ids))


def address_refusal(address: str, allow_private: bool) -> str | None:
    """Why an address may not be fetched, or None.  Private ranges only on the local stage."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return f"{address} is not a web server's address"
    if not allow_private and (ip.is_private or ip.is_loopback or ip.is_link_local or not ip.is_global):
        return f"{address} is a private, loopback or link-local address"
    return None
