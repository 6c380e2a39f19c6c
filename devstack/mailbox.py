"""The local mailbox: every mail the emulator's SES took, kept under `.local/mailbox/`, and the
events SES would publish about it.

moto accepts mail and keeps it in memory; it publishes nothing to a configuration set.  This
pump reads what SES took (the emulator's `/_sodate/ses/sent`), files each message with its
parts and headers, and publishes SES's own event documents to the configuration set's SNS
destination, so the feedback path (queue, `mail_feedback`, the scenario report) runs locally:
`Send` and `Delivery` for every recipient -- or, for SES's mailbox simulator addresses, what
SES does for them: `bounce@simulator.amazonses.com` a permanent bounce,
`complaint@simulator.amazonses.com` a delivery then a complaint,
`suppressionlist@simulator.amazonses.com` a bounce as on the account's suppression list
(`ooto@` and `success@` are delivered).  A bounce or complaint for any message can also be
asked for from the mailbox page.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from devstack.pump import Every

NAME = "mailbox"
SIMULATOR = "simulator.amazonses.com"


def parse(raw: bytes) -> dict[str, Any]:
    """What the mailbox shows of one MIME message."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    parts: dict[str, str] = {}
    for kind in ("plain", "html"):
        part = message.get_body(preferencelist=(kind,))
        if part is not None and isinstance(part, EmailMessage):
            parts[kind] = str(part.get_content())
    return {
        "from": str(message.get("From", "")),
        "to": [address for _, address in getaddresses([str(v) for v in message.get_all("To", [])])],
        "subject": str(message.get("Subject", "")),
        "date": str(message.get("Date", "")),
        "headers": [[name, str(value)] for name, value in message.items()],
        "text": parts.get("plain", ""),
        "html": parts.get("html", ""),
    }


class MailStore:
    """One JSON file per message (and its raw MIME), numbered in the order SES took them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True)

    def add(self, ses_id: str, raw: bytes, received_at: str) -> dict[str, Any]:
        with self._lock:
            number = self._last() + 1
            mail = {
                "number": number,
                "ses_id": ses_id,
                "received_at": received_at,
                **parse(raw),
                "events": [],
            }
            (self.directory / f"{number}.eml").write_bytes(raw)
            self._write(mail)
        return mail

    def note(self, number: int, event: str) -> None:
        with self._lock:
            mail = self.get(number)
            if mail is not None:
                mail["events"].append(event)
                self._write(mail)

    def get(self, number: int) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = json.loads((self.directory / f"{number}.json").read_text())
        except (OSError, ValueError):
            return None
        return found

    def raw(self, number: int) -> bytes | None:
        try:
            return (self.directory / f"{number}.eml").read_bytes()
        except OSError:
            return None

    def newest(self, limit: int = 200) -> list[dict[str, Any]]:
        numbers = sorted(
            (int(p.stem) for p in self.directory.glob("*.json") if p.stem.isdigit()), reverse=True
        )
        return [m for m in (self.get(n) for n in numbers[:limit]) if m is not None]

    def _last(self) -> int:
        return max((int(p.stem) for p in self.directory.glob("*.json") if p.stem.isdigit()), default=0)

    def _write(self, mail: dict[str, Any]) -> None:
        path = self.directory / f"{mail['number']}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(mail, ensure_ascii=False))
        tmp.replace(path)


class Feedback:
    """SES's event documents (event publishing through a configuration set), sent to its SNS
    destination as SES sends them."""

    def __init__(self, sns: Any, topic_arn: str, configuration_set: str, account: str, region: str) -> None:
        self._sns = sns
        self._topic = topic_arn
        self._set = configuration_set
        self._account = account
        self._region = region

    def publish(self, mail: dict[str, Any], kind: str, recipients: list[str], **why: str) -> None:
        now = _iso(time.time())
        detail: dict[str, Any]
        if kind == "Delivery":
            detail = {
                "delivery": {
                    "timestamp": now,
                    "processingTimeMillis": 120,
                    "recipients": recipients,
                    "smtpResponse": "250 2.6.0 Message received",
                    "reportingMTA": "local.mailbox",
                }
            }
        elif kind == "Bounce":
            suppressed = why.get("subtype") == "OnAccountSuppressionList"
            detail = {
                "bounce": {
                    "feedbackId": str(uuid.uuid4()),
                    "bounceType": "Permanent",
                    "bounceSubType": why.get("subtype", "General"),
                    "bouncedRecipients": [
                        {
                            "emailAddress": r,
                            "action": "failed",
                            "status": "5.1.1",
                            "diagnosticCode": "Amazon SES did not send the message to this address "
                            "because it is on the suppression list for your account."
                            if suppressed
                            else "smtp; 550 5.1.1 user unknown",
                        }
                        for r in recipients
                    ],
                    "timestamp": now,
                    "reportingMTA": "dns; local.mailbox",
                }
            }
        elif kind == "Complaint":
            detail = {
                "complaint": {
                    "feedbackId": str(uuid.uuid4()),
                    "complainedRecipients": [{"emailAddress": r} for r in recipients],
                    "complaintFeedbackType": "abuse",
                    "timestamp": now,
                    "arrivalDate": now,
                }
            }
        else:
            detail = {"send": {}}
        event = {"eventType": kind, "mail": self._mail(mail), **detail}
        self._sns.publish(TopicArn=self._topic, Message=json.dumps(event, ensure_ascii=False))

    def _mail(self, mail: dict[str, Any]) -> dict[str, Any]:
        source = mail["from"]
        return {
            "timestamp": mail["received_at"],
            "source": source,
            "sourceArn": f"arn:aws:ses:{self._region}:{self._account}:identity/{source}",
            "sendingAccountId": self._account,
            "messageId": mail["ses_id"],
            "destination": mail["to"],
            "headersTruncated": False,
            "headers": [{"name": n, "value": v} for n, v in mail["headers"]],
            "commonHeaders": {"from": [source], "to": mail["to"], "subject": mail["subject"]},
            "tags": {"ses:configuration-set": [self._set]},
        }


def simulated(recipient: str) -> list[tuple[str, dict[str, str]]]:
    """The events SES publishes for one recipient (its mailbox simulator's documented answers)."""
    local, _, domain = recipient.lower().partition("@")
    if domain != SIMULATOR:
        return [("Delivery", {})]
    case = local.split("+", 1)[0]
    if case == "bounce":
        return [("Bounce", {})]
    if case == "suppressionlist":
        return [("Bounce", {"subtype": "OnAccountSuppressionList"})]
    if case == "complaint":
        return [("Delivery", {}), ("Complaint", {})]
    return [("Delivery", {})]


class MailPump(Every):
    """Files what SES took and publishes its events, every half second."""

    def __init__(self, emulator: str, store: MailStore, feedback: Feedback, every_s: float = 0.5) -> None:
        super().__init__("mailbox", every_s)
        self._url = f"{emulator}/_sodate/ses/sent"
        self.store = store
        self.feedback = feedback
        self._after = 0  # the emulator's count starts again with each run; the store's numbers go on

    def once(self) -> None:
        self.pump_once()

    def pump_once(self) -> int:
        with urllib.request.urlopen(f"{self._url}?after={self._after}", timeout=10) as answer:
            listed = json.loads(answer.read())
        for message in listed["messages"]:
            mail = self.store.add(message["id"], base64.b64decode(message["raw"]), _iso(time.time()))
            if message.get("pool"):
                continue  # the user pool's own mail: SES publishes no events about it
            recipients = list(dict.fromkeys(a.lower() for _, a in getaddresses(message["destinations"]) if a))
            self.ask(mail, "Send", recipients)
            for recipient in recipients:
                for kind, why in simulated(recipient):
                    self.ask(mail, kind, [recipient], **why)
        self._after = int(listed["count"])
        return len(listed["messages"])

    def ask(self, mail: dict[str, Any], kind: str, recipients: list[str], **why: str) -> None:
        """Publish one event about a filed mail and note it on the mail."""
        self.feedback.publish(mail, kind, recipients, **why)
        self.store.note(int(mail["number"]), kind)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
