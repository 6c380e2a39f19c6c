"""A LINE webhook is read only when LINE signed it, and only what Sodate acts on is kept."""

import json

import pytest

from chalicelib.domain.errors import BadInputError
from chalicelib.domain.line_webhooks import BadSignatureError, events, signature
from chalicelib.domain.replies import asks_to_stop

SECRET = "channel-secret-for-tests"
HANAKO = "U" + "4af4980629" * 3 + "ab"


def event(kind: str, **extra):
    return {
        "type": kind,
        "mode": "active",
        "timestamp": 1767225600000,
        "source": {"type": "user", "userId": HANAKO},
        "webhookEventId": f"01HX{kind[:4].upper()}0000000000000000",
        "deliveryContext": {"isRedelivery": False},
        **extra,
    }


def signed(*raw_events, secret=SECRET):
    body = json.dumps({"destination": "U" + "0" * 32, "events": list(raw_events)}).encode()
    return body, signature(secret, body)


def test_follow_unfollow_message_and_account_link_are_read_from_a_signed_body():
    body, sig = signed(
        event("follow", replyToken="r1"),
        event("message", replyToken="r2", message={"type": "text", "id": "1", "text": "停止"}),
        event("accountLink", replyToken="r3", link={"result": "ok", "nonce": "n0nce-1234567890"}),
        event("unfollow"),
    )
    kinds = [(e.kind, e.user_id) for e in events(SECRET, body, sig)]
    assert kinds == [("follow", HANAKO), ("message", HANAKO), ("accountLink", HANAKO), ("unfollow", HANAKO)]
    message, link = events(SECRET, body, sig)[1:3]
    assert message.text == "停止" and asks_to_stop(message.text)
    assert link.linked and link.nonce == "n0nce-1234567890"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body, sig: (body, None),  # unsigned
        lambda body, sig: (body, ""),
        lambda body, sig: (body.replace(b"follow", b"unfollow"), sig),  # altered after signing
        lambda body, sig: (body, signature("another-channel", body)),  # signed for another channel
        lambda body, sig: (body, sig[:-2] + "AA"),  # forged
    ],
)
def test_a_forged_altered_or_unsigned_body_is_refused_whole(tamper):
    body, sig = tamper(*signed(event("follow")))
    with pytest.raises(BadSignatureError):
        events(SECRET, body, sig)


def test_without_a_channel_secret_nothing_is_trusted():
    body, sig = signed(event("follow"), secret="")
    with pytest.raises(BadSignatureError, match="No channel secret"):
        events("", body, sig)


def test_events_of_groups_other_kinds_and_odd_shapes_are_skipped_and_bad_json_is_named():
    group = event("follow") | {"source": {"type": "group", "groupId": "C" + "1" * 32, "userId": HANAKO}}
    odd = [
        group,
        event("postback", postback={"data": "x"}),
        event("follow") | {"source": {"type": "user", "userId": "Uzz"}},
        event("follow") | {"timestamp": "soon"},
        event("accountLink", link={"result": "ok"}),  # no nonce: no link
        "not an event",
    ]
    body, sig = signed(*odd, event("unfollow"))
    assert [e.kind for e in events(SECRET, body, sig)] == ["unfollow"]
    for bad in (b"[1, 2", b'{"events": 3}', b"[" * 5000):
        with pytest.raises(BadInputError):
            events(SECRET, bad, signature(SECRET, bad))


def test_a_redelivered_event_says_so_and_keeps_its_id():
    first = event("follow")
    again = first | {"deliveryContext": {"isRedelivery": True}}
    (one,), (two,) = events(SECRET, *signed(first)), events(SECRET, *signed(again))
    assert one.event_id == two.event_id and not one.redelivery and two.redelivery


@pytest.mark.parametrize("reply", ["STOP", "stop", "ＳＴＯＰ", " 停止。", "配信停止", "Unsubscribe!"])
def test_a_reply_that_is_a_stop_word_alone_asks_to_stop(reply):
    assert asks_to_stop(reply)


@pytest.mark.parametrize("reply", ["stop by the shop tomorrow?", "停止しないで", "", "ok"])
def test_a_reply_that_only_contains_a_stop_word_does_not(reply):
    assert not asks_to_stop(reply)
