"""Tell sales about a contact who just became hot: a mail to the people named, a message to systems."""

from __future__ import annotations

from collections.abc import Sequence

from chalicelib.domain.contact import Contact, display_name
from chalicelib.domain.segments.facts import Visit
from chalicelib.domain.timeline import Recorded
from chalicelib.services.ports import AlertChannel


class SalesAlerts:
    def __init__(self, channel: AlertChannel) -> None:
        self._channel = channel

    def send(self, to: Sequence[str], contact: Contact, hot: Recorded, pages: list[Visit]) -> None:
        """`hot` names the score (`name`), its value (`score`), why and when."""
        who = display_name(contact) or contact["email"]
        summary = {
            "contact_id": contact["contact_id"],
            "email": contact["email"],
            "name": who,
            "company": contact.get("company") or "",
            "grade": contact.get("grade") or "",
            "score": hot.name,
            "value": hot.score,
            "because": hot.because,
            "at": hot.at,
            "recent_pages": [{"path": p.path, "at": p.at.isoformat(timespec="seconds")} for p in pages],
        }
        lines = [
            f"{who} is now hot on the '{hot.name}' score ({hot.score}).",
            "",
            f"Email:   {contact['email']}",
            f"Company: {summary['company'] or '-'}",
            f"Grade:   {summary['grade'] or '-'}",
            f"Because: {hot.because} at {hot.at}",
            "",
            "Recent pages:",
            *[f"  {p.at.isoformat(timespec='minutes')}  {p.path}" for p in pages],
        ]
        if to:
            self._channel.mail(list(to), f"Hot lead: {who} ({hot.name} {hot.score})", "\n".join(lines))
        self._channel.publish("Sodate: hot contact", summary, hot.name)
