"""Sales alerts through SES (a plain-text mail) and SNS (a JSON message for systems)."""

from __future__ import annotations

import json
from typing import Any


class SesSnsAlerts:
    def __init__(self, ses: Any, sns: Any, sender: str, topic_arn: str) -> None:
        self._ses = ses
        self._sns = sns
        self._sender = sender
        self._topic = topic_arn

    def mail(self, to: list[str], subject: str, text: str) -> None:
        self._ses.send_email(
            Source=self._sender,
            Destination={"ToAddresses": to},
            Message={
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
            },
        )

    def publish(self, subject: str, summary: dict[str, Any], score: str) -> None:
        if not self._topic:
            return  # no topic configured: the mail is the alert
        self._sns.publish(
            TopicArn=self._topic,
            Subject=subject,
            Message=json.dumps(summary, ensure_ascii=False),
            MessageAttributes={"score": {"DataType": "String", "StringValue": score}},
        )
