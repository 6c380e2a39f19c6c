"""Tell sales about a contact who just became hot: an email through SES and an SNS message."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from chalicelib.domain.contact import Contact
from chalicelib.domain.segments.facts import Visit


class SalesAlerts:
    def __init__(self, ses: Any, sns: Any, sender: str, topic_arn: str) -> None:
        self._ses = ses
        self._sns = sns
        self._sender = sender
        self._topic = topic_arn

    def send(self, to: Sequence[str], contact: Contact, hot: dict[str, Any], pages: list[Visit]) -> None:
        who = (
            contact.get("name")
            or " ".join(p for p in (contact.get("last_name"), contact.get("first_name")) if p)
            or contact["email"]
        )
        score, value = hot["name"]["S"], hot["score"]["S"]
        summary = {
            "contact_id": contact["contact_id"],
            "email": contact["email"],
            "name": who,
            "company": contact.get("company") or "",
            "grade": contact.get("grade") or "",
            "score": score,
            "value": value,
            "because": hot.get("because", {}).get("S", ""),
            "at": hot["at"]["S"],
            "recent_pages": [{"path": p.path, "at": p.at.isoformat(timespec="seconds")} for p in pages],
        }
        lines = [
            f"{who} is now hot on the '{score}' score ({value}).",
            "",
            f"Email:   {contact['email']}",
            f"Company: {summary['company'] or '-'}",
            f"Grade:   {summary['grade'] or '-'}",
            f"Because: {summary['because']} at {summary['at']}",
            "",
            "Recent pages:",
            *[f"  {p.at.isoformat(timespec='minutes')}  {p.path}" for p in pages],
        ]
        if to:
            self._ses.send_email(
                Source=self._sender,
                Destination={"ToAddresses": list(to)},
                Message={
                    "Subject": {"Data": f"Hot lead: {who} ({score} {value})", "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": "\n".join(lines), "Charset": "UTF-8"}},
                },
            )
        if self._topic:
            self._sns.publish(
                TopicArn=self._topic,
                Subject="Sodate: hot contact",
                Message=json.dumps(summary, ensure_ascii=False),
                MessageAttributes={"score": {"DataType": "String", "StringValue": score}},
            )
