"""The MIME message: UTF-8 throughout, one-click unsubscribe, who sent it and from where.

Every marketing mail carries `List-Unsubscribe` (https) with
`List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058), and a visible
footer with the unsubscribe link, the sender's name and postal address
(特定電子メール法, CAN-SPAM).  Japanese text needs no ISO-2022-JP: headers
are RFC 2047 encoded-words, bodies UTF-8.
"""

from __future__ import annotations

import html as html_text
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from .templates import Rendered

_POLICY = SMTP.clone(refold_source="none")  # headers we give as they are stay as they are


@dataclass(frozen=True)
class Sender:
    name: str
    address: str  # SES-verified
    postal_address: str


def build_message(
    sender: Sender,
    to: str,
    rendered: Rendered,
    unsubscribe_url: str,
    sent_at: datetime,
    extra_headers: dict[str, str] | None = None,
    require_https: bool = True,  # only the local stack (plain http on loopback) says False
) -> bytes:
    if require_https and not unsubscribe_url.startswith("https://"):
        raise ValueError("the unsubscribe link must be https (RFC 8058)")
    message = EmailMessage(policy=_POLICY)
    local, _, domain = sender.address.rpartition("@")
    message["From"] = Address(sender.name, local, domain)
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = make_msgid(domain=domain)
    # One line, as it is: folded into RFC 2047 encoded-words (what the default folding does
    # with a long URL) mail clients would not find the link.
    message.set_raw("List-Unsubscribe", f"<{unsubscribe_url}>")
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for name, value in (extra_headers or {}).items():
        message[name] = value
    footer_text = (
        f"\n\n--\n{sender.name}\n{sender.postal_address}\n配信停止 / Unsubscribe: {unsubscribe_url}\n"
    )
    footer_html = (
        '<hr><p style="font-size:12px;color:#666">'
        f"{html_text.escape(sender.name)}<br>{html_text.escape(sender.postal_address)}<br>"
        f'<a href="{html_text.escape(unsubscribe_url)}">配信停止 / Unsubscribe</a></p>'
    )
    message.set_content(rendered.text + footer_text, charset="utf-8", cte="base64")
    body = rendered.html
    body = body.replace("</body>", footer_html + "</body>") if "</body>" in body else body + footer_html
    message.add_alternative(body, subtype="html", charset="utf-8", cte="base64")
    return message.as_bytes()
