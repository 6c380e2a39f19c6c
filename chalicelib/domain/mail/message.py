"""The MIME message: UTF-8 throughout, one-click unsubscribe, who sent it and from where.

Every marketing mail carries `List-Unsubscribe` (https) with
`List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058), and a visible
footer with the unsubscribe link, the sender's name and postal address
(特定電子メール法, CAN-SPAM).  Japanese text needs no ISO-2022-JP: headers
are RFC 2047 encoded-words, bodies UTF-8.
"""

from __future__ import annotations

import base64
import html as html_text
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from .templates import Rendered


class MailThrottledError(RuntimeError):
    """The mail service will not take mail this fast; try again after a pause."""


class MailRejectedError(RuntimeError):
    """The mail service refused this message for good (the reason says why)."""


@dataclass(frozen=True)
class Sender:
    name: str
    address: str  # SES-verified
    postal_address: str


def build_message(
    sender: Sender,
    to: str,
    rendered: Rendered,
    unsubscribe_url: str | None,
    sent_at: datetime,
    extra_headers: dict[str, str] | None = None,
    require_https: bool = True,  # only the local stack (plain http on loopback) says False
    preferences_url: str | None = None,  # the person's preference page (topics, pause)
) -> bytes:
    """multipart/alternative, text then HTML, both UTF-8 in base64; written out directly
    (the standard library's header objects cost ~20 times more CPU per mail)."""
    if unsubscribe_url is not None and require_https and not unsubscribe_url.startswith("https://"):
        raise ValueError("the unsubscribe link must be https (RFC 8058)")
    from_line, domain, footer_text, footer_html = _sender_parts(sender)
    unique = os.urandom(16).hex()
    boundary = f"=_sodate_{unique}"
    headers = [
        ("From", from_line),
        ("To", to),
        ("Subject", _words(rendered.subject)),
        ("Date", _date(sent_at)),
        ("Message-ID", f"<{unique}@{domain}>"),
        # One line, as it is: folded into encoded-words, mail clients would not find the link.
        *(
            [
                ("List-Unsubscribe", f"<{unsubscribe_url}>"),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ]
            if unsubscribe_url is not None
            else []  # a confirmation the person asked for: nothing to unsubscribe from yet
        ),
        *((name, _words(value)) for name, value in (extra_headers or {}).items()),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
    ]
    if unsubscribe_url is None:
        footer_text = footer_text.rpartition("\n")[0] + "\n"
        footer_html = footer_html.rpartition("<br>")[0] + "</p>"
    else:
        footer_text = f"{footer_text}{unsubscribe_url}\n"
        footer_html = f'{footer_html}<a href="{html_text.escape(unsubscribe_url)}">配信停止 / Unsubscribe</a>'
        if preferences_url:
            footer_text += f"配信設定 / Preferences: {preferences_url}\n"
            footer_html += f' | <a href="{html_text.escape(preferences_url)}">配信設定 / Preferences</a>'
        footer_html += "</p>"
    page = rendered.html
    page = page.replace("</body>", footer_html + "</body>") if "</body>" in page else page + footer_html
    lines = [f"{name}: {_one_line(value)}" for name, value in headers]
    for subtype, content in (("plain", rendered.text + footer_text), ("html", page)):
        lines += [
            "",
            f"--{boundary}",
            f'Content-Type: text/{subtype}; charset="utf-8"',
            "Content-Transfer-Encoding: base64",
            "",
            _base64_lines(content),
        ]
    lines += [f"--{boundary}--", ""]
    return "\r\n".join(lines).encode("ascii")


@lru_cache(maxsize=16)
def _sender_parts(sender: Sender) -> tuple[str, str, str, str]:
    """What is the same in every mail from this sender: the From line, the Message-ID's domain,
    and the footers up to the person's unsubscribe link."""
    return (
        f"{_phrase(sender.name)} <{sender.address}>",
        sender.address.rpartition("@")[2],
        f"\n\n--\n{sender.name}\n{sender.postal_address}\n配信停止 / Unsubscribe: ",
        '<hr><p style="font-size:12px;color:#666">'
        f"{html_text.escape(sender.name)}<br>{html_text.escape(sender.postal_address)}<br>",
    )


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _date(at: datetime) -> str:
    """RFC 5322 date in UTC (`email.utils.format_datetime` costs ten times more)."""
    at = at.astimezone(UTC)
    return (
        f"{_DAYS[at.weekday()]}, {at.day:02d} {_MONTHS[at.month - 1]} {at.year:04d} "
        f"{at.hour:02d}:{at.minute:02d}:{at.second:02d} +0000"
    )


def _base64_lines(content: str) -> str:
    encoded = base64.b64encode(content.encode("utf-8")).decode("ascii")
    return "\r\n".join([encoded[i : i + 76] for i in range(0, len(encoded), 76)])


def _one_line(value: str) -> str:
    """No header may carry a line break of its own (header injection)."""
    return value.replace("\r", " ").replace("\n", " ") if "\n" in value or "\r" in value else value


def _phrase(name: str) -> str:
    """A display name: quoted if plain ASCII, encoded-words otherwise."""
    name = _one_line(name).strip()
    if name.isascii():
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return _words(name)


def _words(text: str) -> str:
    """RFC 2047 encoded-words (UTF-8, base64), each at most 75 characters, folded between them;
    plain ASCII stays as it is."""
    text = _one_line(text)
    if text.isascii() and len(text) < 900:
        return text
    raw, words, start = text.encode("utf-8"), [], 0
    while start < len(raw):
        end = min(start + 45, len(raw))  # 45 bytes -> 60 base64 characters + 12 = 72
        while end < len(raw) and raw[end] & 0xC0 == 0x80:  # never split a character
            end -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(raw[start:end]).decode('ascii')}?=")
        start = end
    return "\r\n ".join(words)
