"""Texts people send our SMS number: only a STOP (停止...) stops texts, to that number, and
every SMS send then treats the number as opted out."""

import pytest

from chalicelib.domain.contact import GRANTED, WITHDRAWN
from chalicelib.domain.errors import BadInputError
from chalicelib.domain.people_index import index_moves, phone_partition
from chalicelib.domain.replies import is_sms_reply, sms_reply
from chalicelib.services.consent import ConsentRecords
from chalicelib.services.sms_replies import HonouringStops, SmsReplies
from tests.fakes.consent import MemoryConsentLedger

NOW = 1_800_000_000.0


class Stops:
    """The stopped numbers, the people index's phone entries and the contacts' permissions."""

    def __init__(self, *contacts: dict) -> None:
        self.kept: dict[str, tuple[str, str]] = {}
        self.contacts = {c["email"]: dict(c) for c in contacts}
        puts, _ = index_moves((None, c) for c in contacts)
        self.index = {(pk, sk) for pk, sk in puts if pk.startswith("x#phone:")}

    def stop(self, number: str, at: str, message_id: str) -> None:
        self.kept[number] = (at, message_id)

    def stopped(self, number: str) -> bool:
        return number in self.kept

    def texted_at(self, number: str) -> list[str]:
        return sorted(sk for pk, sk in self.index if pk == phone_partition(number))

    def withdraw(self, email: str, at: str) -> str | None:
        contact = self.contacts.get(email)
        if contact is None or contact.get("sms_permission") == WITHDRAWN:
            return None
        contact["sms_permission"] = WITHDRAWN
        return str(contact["contact_id"])


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
    replies = SmsReplies(stops, ConsentRecords(MemoryConsentLedger(), lambda: NOW), lambda: NOW)
    gateway = HonouringStops(Carrier(), stops)
    assert replies.receive(sms_reply(payload("stop by the shop tomorrow?"))) is None
    assert not gateway.opted_out("+819012345678")
    assert replies.receive(sms_reply(payload("ＳＴＯＰ"))) == 0  # nobody may be texted there yet
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


def person(n: int, phone: str, permission: str | None = GRANTED) -> dict:
    contact = {"email": f"p{n}@example.jp", "contact_id": f"c{n}", "phone": phone}
    return contact | ({"sms_permission": permission} if permission else {})


def test_a_stop_takes_back_the_sms_permission_of_each_person_texted_at_the_number_once():
    stops = Stops(
        person(1, "090-1234-5678"),
        person(2, "+81 90 1234 5678"),  # the same number, written another way
        person(3, "090-1234-5670"),
        person(4, "090-1234-5678", permission=None),  # never said yes: not texted, not indexed
    )
    ledger = MemoryConsentLedger()
    replies = SmsReplies(stops, ConsentRecords(ledger, lambda: NOW), lambda: NOW)
    assert replies.receive(sms_reply(payload("停止"))) == 2
    assert [stops.contacts[f"p{n}@example.jp"].get("sms_permission") for n in (1, 2, 3, 4)] == [
        WITHDRAWN,
        WITHDRAWN,
        GRANTED,
        None,
    ]
    for who in ("c1", "c2"):
        (entry,) = ledger.entries(who)
        assert (entry.channel, entry.change, entry.status) == ("sms", "withdrawn", WITHDRAWN)
        assert entry.detail == {"event": "stop reply", "reply": "in-1"}
    assert replies.receive(sms_reply(payload("停止"))) == 0  # redelivered: nothing written twice
    assert len(ledger.entries("c1")) == 1 and ledger.entries("c3") == []
