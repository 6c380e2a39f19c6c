"""The LINE stand-in's page: what was delivered to whom, the channel's friends, and the webhooks
sent to the bot server -- plain HTML in the local mailbox's style, everything escaped, no script.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Any

from devstack.mailbox_pages import STYLE

CSP = "default-src 'none'; style-src 'unsafe-inline'"


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _e(value: Any) -> str:
    return html.escape(str(value))


def _message(message: dict[str, Any]) -> str:
    kind = str(message.get("type", ""))
    if kind == "text":
        return f"<pre>{_e(message.get('text', ''))}</pre>"
    if kind == "image":
        return f"<p>image <code>{_e(message.get('originalContentUrl', ''))}</code></p>"
    shown = json.dumps(message, ensure_ascii=False, indent=1)
    title = f"{kind}: {message['altText']}" if kind == "flex" and "altText" in message else kind
    return f"<details><summary>{_e(title)}</summary><pre>{_e(shown)}</pre></details>"


def _recipients(send: dict[str, Any]) -> str:
    return "<br>".join(
        f"{_e(r.get('displayName') or r['userId'])} <code>{_e(r['userId'])}</code>"
        + ("" if r["received"] else f' <span class="ev">not received: {_e(r.get("why", ""))}</span>')
        for r in send["recipients"]
    )


def _sent(sent: list[dict[str, Any]]) -> str:
    if not sent:
        return '<p class="empty">Nothing delivered yet: what the API accepts shows here.</p>'
    rows = "".join(
        f"<tr><td>{s['number']}</td><td>{_e(_when(s['at']))}</td><td>{_e(s['endpoint'])}"
        + (' <span class="ev">silent</span>' if s.get("notificationDisabled") else "")
        + f"</td><td>{_recipients(s)}</td><td>{''.join(_message(m) for m in s['messages'])}</td></tr>"
        for s in sent
    )
    return f"<table><tr><th>#</th><th>at (UTC)</th><th>by</th><th>to</th><th>messages</th></tr>{rows}</table>"


def _users(users: list[dict[str, Any]]) -> str:
    if not users:
        return '<p class="empty">No friends yet.</p>'
    rows = "".join(
        f"<tr><td><code>{_e(u['userId'])}</code></td><td>{_e(u.get('displayName', ''))}</td>"
        f"<td>{'friend' if u['friend'] else 'blocked'}</td><td>{_e(_when(u['since']))}</td></tr>"
        for u in users
    )
    return f"<table><tr><th>user id</th><th>name</th><th>state</th><th>since (UTC)</th></tr>{rows}</table>"


def _webhooks(records: list[dict[str, Any]]) -> str:
    if not records:
        return '<p class="empty">No webhooks sent yet.</p>'

    def posts(record: dict[str, Any]) -> str:
        return " · ".join(
            f"{'redelivery ' if d['isRedelivery'] else ''}{d['status'] or d.get('error', '')}"
            for d in record["deliveries"]
        )

    rows = "".join(
        f"<tr><td>{r['number']}</td>"
        f"<td>{_e(', '.join(e['type'] for e in r['body']['events']))}"
        + (f' <span class="ev">signature {_e(r["forged"])}</span>' if r.get("forged") else "")
        + f"</td><td>{_e(', '.join(e.get('source', {}).get('userId', '-') for e in r['body']['events']))}</td>"
        f"<td>{_e(', '.join(e['webhookEventId'] for e in r['body']['events']))}</td>"
        f'<td class="ev">{_e(posts(r))}</td></tr>'
        for r in records
    )
    return (
        "<table><tr><th>#</th><th>events</th><th>user</th><th>webhook event id</th>"
        f"<th>posted (status)</th></tr>{rows}</table>"
    )


def page(sent: list[dict[str, Any]], users: list[dict[str, Any]], webhooks: list[dict[str, Any]]) -> bytes:
    body = (
        f"<h1>Delivered ({len(sent)})</h1>{_sent(sent)}"
        f"<h2>Friends</h2>{_users(users)}"
        f"<h2>Webhooks sent</h2>{_webhooks(webhooks)}"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>LINE stand-in</title>'
        f'<style>{STYLE}</style></head><body><header><a href="/_standin/">Sodate local LINE</a>'
        f"</header><main>{body}</main></body></html>"
    ).encode()
