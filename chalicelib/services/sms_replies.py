"""Texts people send to our number: a STOP (停止, 配信停止...) stops every text to that number.

The reply names a phone number, not a person -- several contacts may share it, and a number
may reach us before any contact has it -- so the stop is kept for the number itself and every
SMS send checks it, as it checks the carriers' own opt-out list (aws/channels.py SnsSms)."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain.replies import SmsReply, asks_to_stop
from chalicelib.services.channel_ports import SmsGateway, StoppedNumbers
from chalicelib.services.ports import Clock


class SmsReplies:
    def __init__(self, stops: StoppedNumbers, clock: Clock) -> None:
        self._stops = stops
        self._clock = clock

    def receive(self, reply: SmsReply) -> bool:
        """True when the reply stopped texts to its number (a redelivered STOP stops it again)."""
        if not asks_to_stop(reply.text):
            return False
        at = datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="seconds")
        self._stops.stop(reply.number, at, reply.message_id)
        return True


class HonouringStops:
    """An SMS gateway that also treats a number whose owner replied STOP as opted out."""

    def __init__(self, gateway: SmsGateway, stops: StoppedNumbers) -> None:
        self._gateway = gateway
        self._stops = stops

    def opted_out(self, number: str) -> bool:
        return self._stops.stopped(number) or self._gateway.opted_out(number)

    def send(self, number: str, text: str) -> str:
        return self._gateway.send(number, text)
