"""Texts people send to our number: a STOP (停止, 配信停止...) stops every text to that number.

The reply names a phone number, not a person -- several contacts may share it, and a number
may reach us before any contact has it -- so the stop is kept for the number itself and every
SMS send checks it before choosing the channel (End User Messaging SMS's own opt-out list is
checked by the service in the send: aws/sms_voice.py).  Then
each person who may be texted at that number (the people index) has their SMS permission taken
back, with an entry in their consent ledger naming the reply: the person's record says what the
number's owner asked.  Nothing gives it back but a new consent from the person."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain.consent import SMS, Change, ConsentEntry
from chalicelib.domain.contact import WITHDRAWN
from chalicelib.domain.replies import SmsReply, asks_to_stop
from chalicelib.services.channel_ports import SmsGateway, StoppedNumbers
from chalicelib.services.consent import ConsentRecords
from chalicelib.services.ports import Clock


class SmsReplies:
    def __init__(self, stops: StoppedNumbers, consent: ConsentRecords, clock: Clock) -> None:
        self._stops = stops
        self._consent = consent
        self._clock = clock

    def receive(self, reply: SmsReply) -> int | None:
        """None when the reply asks nothing of us; else how many people's permission it took back
        (0 when a redelivered STOP finds them withdrawn already -- the number is stopped again)."""
        if not asks_to_stop(reply.text):
            return None
        at = datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="seconds")
        self._stops.stop(reply.number, at, reply.message_id)  # first: it alone stops the texts
        withdrawn = 0
        for email in self._stops.texted_at(reply.number):
            contact_id = self._stops.withdraw(email, at)
            if contact_id is not None:
                detail = {"event": "stop reply", "reply": reply.message_id or "-"}
                entry = ConsentEntry(at, Change.WITHDRAWN, "sms", "person", WITHDRAWN, detail, channel=SMS)
                self._consent.record(contact_id, entry)
                withdrawn += 1
        return withdrawn


class HonouringStops:
    """An SMS gateway that also treats a number whose owner replied STOP as opted out."""

    def __init__(self, gateway: SmsGateway, stops: StoppedNumbers) -> None:
        self._gateway = gateway
        self._stops = stops

    def opted_out(self, number: str) -> bool:
        return self._stops.stopped(number) or self._gateway.opted_out(number)

    def send(self, number: str, text: str) -> str:
        return self._gateway.send(number, text)
