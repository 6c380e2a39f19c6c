"""Texts people send our SMS number: only a STOP (停止...) stops texts, to that number, and
every SMS send then treats the number as opted out."""

import pytest

from chalicelib.domain.errors import BadInputError
from chalicelib.domain.replies import is_sms_reply, sms_reply
from chalicelib.services.sms_replies import HonouringStops, SmsReplies


class Stops:
    def __init__(self) -> None:
        self.kept: dict[str, tuple[str, str]] = {}

    def stop(self, number: str, at: str, message_id: str) -> None:
        self.kept[number] = (at, message_id)

    def stopped(self, number: str) -> bool:
        return number in self.kept


class Carrier:
    opted = frozenset({"+819000000099"})

    def opted_out(self, number: str) -> bool:
        return number in self.opted

    def send(self, number: str, text: str) -> str:
        return "id"


def payload(text: str, number: str = "+819012345678") -> dict:
    return {
        "originationNumber": number,
        "destinationNumber": "+815012340000",
        "messageBody": text,
        "inboundMessageId": "in-1",
        "messageKeyword": "KEYWORD",
    }


def test_a_stop_reply_stops_texts_to_its_number_and_other_words_do_not():
    stops = Stops()
    replies = SmsReplies(stops, lambda: 1_800_000_000.0)
    gateway = HonouringStops(Carrier(), stops)
    assert replies.receive(sms_reply(payload("stop by the shop tomorrow?"))) is False
    assert not gateway.opted_out("+819012345678")
    assert replies.receive(sms_reply(payload("ＳＴＯＰ"))) is True
    assert stops.kept["+819012345678"] == ("2027-01-15T08:00:00+00:00", "in-1")
    assert gateway.opted_out("+819012345678") and gateway.opted_out("+819000000099")
    assert not gateway.opted_out("+819012345670")


@pytest.mark.parametrize(
    "broken",
    [
        {"originationNumber": "09012345678", "messageBody": "停止"},  # not E.164
        {"originationNumber": "+819012345678", "messageBody": 7},
        {"originationNumber": "+819012345678", "messageBody": "x" * 1601},
    ],
)
def test_a_reply_that_is_not_one_is_refused_naming_what_is_wrong(broken):
    assert is_sms_reply(broken)
    with pytest.raises(BadInputError, match=r"originationNumber|messageBody"):
        sms_reply(broken)


def test_an_ses_event_is_not_taken_for_a_reply():
    assert not is_sms_reply({"eventType": "Bounce", "mail": {"messageId": "m"}})
