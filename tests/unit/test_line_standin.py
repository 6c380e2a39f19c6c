"""The LINE stand-in over real HTTP on loopback: what a bot server sending through LINE, and a
LINE user, would see."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from devstack.line_standin import serve

TOKEN = "local-channel-access-token"
SECRET = "local-channel-secret"


class Receiver:
    """A tiny bot server: keeps each webhook's raw body and headers."""

    def __init__(self) -> None:
        self.got: list[tuple[bytes, dict[str, str]]] = []
        received = self.got

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((raw, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/line/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict[str, Any]]:
        return [e for raw, _ in self.got for e in json.loads(raw)["events"]]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.server.shutdown()
    found.server.server_close()


@pytest.fixture
def line(tmp_path: Path, receiver: Receiver) -> Iterator[str]:
    url, stop = serve(0, tmp_path / "line", TOKEN, SECRET, receiver.url)
    yield url
    stop()


def call(
    url: str, method: str = "GET", body: Any = None, token: str | None = TOKEN, **headers: str
) -> tuple[int, Any, dict[str, str]]:
    data = None if body is None else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **{k.replace("_", "-"): v for k, v in headers.items()}}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read()), {k.lower(): v for k, v in answer.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), {k.lower(): v for k, v in e.headers.items()}


def follow(line: str, **profile: str) -> str:
    status, body, _ = call(f"{line}/_standin/follow", "POST", profile)
    assert status == 200
    return str(body["userId"])


def text(words: str) -> dict[str, str]:
    return {"type": "text", "text": words}


def test_a_push_is_delivered_and_listed(line: str) -> None:
    user = follow(line, displayName="山田 花子")
    status, body, headers = call(
        f"{line}/v2/bot/message/push", "POST", {"to": user, "messages": [text("新茶")]}
    )
    assert status == 200
    assert len(body["sentMessages"]) == 1 and body["sentMessages"][0]["id"].isdigit()
    assert uuid.UUID(headers["x-line-request-id"])

    _, listed, _ = call(f"{line}/_standin/messages")
    [sent] = listed["messages"]
    assert sent["messages"] == [text("新茶")]
    assert sent["recipients"] == [{"userId": user, "received": True, "displayName": "山田 花子"}]

    page = urllib.request.urlopen(f"{line}/_standin/", timeout=10).read().decode()
    assert "新茶" in page and "山田 花子" in page


def test_the_page_escapes_what_was_sent(line: str) -> None:
    user = follow(line, displayName="<b>bold</b>")
    call(f"{line}/v2/bot/message/push", "POST", {"to": user, "messages": [text("<script>x()</script>")]})
    page = urllib.request.urlopen(f"{line}/_standin/", timeout=10).read().decode()
    assert "<script>" not in page and "&lt;script&gt;x()&lt;/script&gt;" in page
    assert "<b>bold</b>" not in page


def test_six_messages_and_a_too_long_text_are_refused_naming_the_property(line: str) -> None:
    user = follow(line)
    status, body, _ = call(f"{line}/v2/bot/message/push", "POST", {"to": user, "messages": [text("a")] * 6})
    assert status == 400
    assert body == {
        "message": "The request body has 1 error(s)",
        "details": [{"message": "Size must be between 1 and 5", "property": "messages"}],
    }

    too_long = [text("ok"), text("あ" * 5001)]
    status, body, _ = call(f"{line}/v2/bot/message/push", "POST", {"to": user, "messages": too_long})
    assert status == 400
    assert body["details"] == [
        {"message": "Length must be between 0 and 5000", "property": "messages[1].text"}
    ]

    # 5000 UTF-16 code units is the limit: an emoji outside the BMP counts as two
    status, _, _ = call(f"{line}/v2/bot/message/push", "POST", {"to": user, "messages": [text("😀" * 2500)]})
    assert status == 200
    status, _, _ = call(f"{line}/v2/bot/message/push", "POST", {"to": user, "messages": [text("😀" * 2501)]})
    assert status == 400
    _, listed, _ = call(f"{line}/_standin/messages")
    assert len(listed["messages"]) == 1


def test_image_and_flex_messages_are_checked_at_their_documented_limits(line: str) -> None:
    user = follow(line)
    image = {"type": "image", "originalContentUrl": "http://example.com/a.jpg"}
    flex = {"type": "flex", "altText": "x" * 1501, "contents": {"type": "box"}}
    status, body, _ = call(f"{line}/v2/bot/message/push", "POST", {"to": user, "messages": [image, flex]})
    assert status == 400
    assert body["message"] == "The request body has 4 error(s)"
    assert [d["property"] for d in body["details"]] == [
        "messages[0].originalContentUrl",
        "messages[0].previewImageUrl",
        "messages[1].altText",
        "messages[1].contents.type",
    ]

    good_image = {
        **image,
        "originalContentUrl": "https://example.com/a.jpg",
        "previewImageUrl": "https://example.com/p.jpg",
    }
    carousel = {"type": "carousel", "contents": [{"type": "bubble"}, {"type": "bubble"}]}
    good_flex = {"type": "flex", "altText": "新茶のご案内", "contents": carousel}
    status, _, _ = call(
        f"{line}/v2/bot/message/push", "POST", {"to": user, "messages": [good_image, good_flex]}
    )
    assert status == 200


def test_a_bad_token_is_401_and_nothing_is_sent(line: str) -> None:
    user = follow(line)
    for token in ("not-the-token", None):
        status, body, headers = call(
            f"{line}/v2/bot/message/push", "POST", {"to": user, "messages": [text("x")]}, token=token
        )
        assert status == 401
        assert body["message"].startswith("Authentication failed")
        assert "x-line-request-id" in headers
    _, listed, _ = call(f"{line}/_standin/messages")
    assert listed["messages"] == []


def test_a_retry_after_success_is_409_and_delivered_once(line: str) -> None:
    user = follow(line)
    key = str(uuid.uuid4())
    request = {"to": user, "messages": [text("一度だけ")]}
    status, first, first_headers = call(f"{line}/v2/bot/message/push", "POST", request, X_Line_Retry_Key=key)
    assert status == 200
    status, again, headers = call(f"{line}/v2/bot/message/push", "POST", request, X_Line_Retry_Key=key)
    assert status == 409
    assert again == {"message": "The retry key is already accepted", "sentMessages": first["sentMessages"]}
    assert headers["x-line-accepted-request-id"] == first_headers["x-line-request-id"]
    assert headers["x-line-request-id"] != first_headers["x-line-request-id"]
    _, listed, _ = call(f"{line}/_standin/messages")
    assert len(listed["messages"]) == 1

    status, body, _ = call(f"{line}/v2/bot/message/push", "POST", request, X_Line_Retry_Key="not-a-uuid")
    assert status == 400 and body["message"]


def test_a_refused_request_does_not_use_up_its_retry_key(line: str) -> None:
    user = follow(line)
    key = str(uuid.uuid4())
    status, _, _ = call(
        f"{line}/v2/bot/message/multicast", "POST", {"to": [user], "messages": []}, X_Line_Retry_Key=key
    )
    assert status == 400
    status, body, _ = call(
        f"{line}/v2/bot/message/multicast",
        "POST",
        {"to": [user], "messages": [text("hi")]},
        X_Line_Retry_Key=key,
    )
    assert (status, body) == (200, {})
    status, body, headers = call(
        f"{line}/v2/bot/message/multicast",
        "POST",
        {"to": [user], "messages": [text("hi")]},
        X_Line_Retry_Key=key,
    )
    assert status == 409 and body == {"message": "The retry key is already accepted"}
    assert "x-line-accepted-request-id" in headers


def test_over_the_rate_is_429_and_it_recovers_after_the_window(tmp_path: Path) -> None:
    line, stop = serve(0, tmp_path / "line", TOKEN, SECRET, None, rate_per_s=3)
    try:
        user = follow(line)
        request = {"to": user, "messages": [text("hi")]}
        answers = [call(f"{line}/v2/bot/message/push", "POST", request) for _ in range(3)]
        assert [a[0] for a in answers] == [200, 200, 200]
        refused = next(
            a
            for a in (call(f"{line}/v2/bot/message/push", "POST", request) for _ in range(20))
            if a[0] != 200
        )
        assert refused[0] == 429
        assert refused[1] == {"message": "The API rate limit has been exceeded. Try again later."}
        assert "x-line-request-id" in refused[2]
        time.sleep(1.1)
        assert call(f"{line}/v2/bot/message/push", "POST", request)[0] == 200
    finally:
        stop()


def test_strangers_blocked_users_and_multicast(line: str) -> None:
    friend, leaving = follow(line), follow(line)
    assert call(f"{line}/_standin/unfollow", "POST", {"userId": leaving})[0] == 200
    stranger = "U" + "0" * 32
    status, body, _ = call(f"{line}/v2/bot/message/push", "POST", {"to": stranger, "messages": [text("x")]})
    assert (status, body) == (400, {"message": "Failed to send messages"})
    assert call(f"{line}/v2/bot/message/push", "POST", {"to": leaving, "messages": [text("x")]})[0] == 200

    status, body, _ = call(
        f"{line}/v2/bot/message/multicast",
        "POST",
        {"to": [friend, leaving, stranger], "messages": [text("y")]},
    )
    assert (status, body) == (200, {})
    _, listed, _ = call(f"{line}/_standin/messages")
    latest = listed["messages"][0]["recipients"]
    assert [(r["userId"], r["received"]) for r in latest] == [
        (friend, True),
        (leaving, False),
        (stranger, False),
    ]

    status, body, _ = call(
        f"{line}/v2/bot/message/multicast", "POST", {"to": [friend, "bob"], "messages": [text("y")]}
    )
    assert status == 400
    assert body == {"message": "The property, to[1], in the request body is invalid (line: -, column: -)"}


def test_link_token_profile_and_a_stranger(line: str) -> None:
    user = follow(line, displayName="佐藤", statusMessage="お茶が好き", language="ja")
    status, body, _ = call(f"{line}/v2/bot/profile/{user}")
    assert status == 200
    assert body == {"userId": user, "displayName": "佐藤", "statusMessage": "お茶が好き", "language": "ja"}

    status, body, _ = call(f"{line}/v2/bot/profile/U{'1' * 32}")
    assert (status, body) == (404, {"message": "Not found"})

    status, body, _ = call(f"{line}/v2/bot/user/{user}/linkToken", "POST")
    assert status == 200 and len(body["linkToken"]) == 32


def test_follow_posts_a_webhook_signed_with_the_channel_secret(line: str, receiver: Receiver) -> None:
    user = follow(line, displayName="鈴木")
    [(raw, headers)] = receiver.got
    expected = base64.b64encode(hmac.new(SECRET.encode(), raw, hashlib.sha256).digest()).decode()
    assert hmac.compare_digest(headers["x-line-signature"], expected)
    body = json.loads(raw)
    assert body["destination"].startswith("U") and len(body["destination"]) == 33
    [followed] = body["events"]
    assert followed["type"] == "follow" and followed["mode"] == "active"
    assert followed["source"] == {"type": "user", "userId": user}
    assert followed["deliveryContext"] == {"isRedelivery": False}
    assert followed["follow"] == {"isUnblocked": False} and followed["replyToken"]
    assert len(followed["webhookEventId"]) == 26 and abs(followed["timestamp"] / 1000 - time.time()) < 60


def test_a_forged_signature_is_detectably_wrong(line: str, receiver: Receiver) -> None:
    call(f"{line}/_standin/forge", "POST", {"signature": "wrong"})
    call(f"{line}/_standin/forge", "POST", {"signature": "missing"})
    (wrong_raw, wrong), (_, missing) = receiver.got
    expected = base64.b64encode(hmac.new(SECRET.encode(), wrong_raw, hashlib.sha256).digest()).decode()
    assert wrong["x-line-signature"] != expected
    assert "x-line-signature" not in missing


def test_message_unfollow_account_link_and_redelivery(line: str, receiver: Receiver) -> None:
    user = follow(line)
    call(f"{line}/_standin/message", "POST", {"userId": user, "text": "こんにちは"})
    _, body, _ = call(f"{line}/v2/bot/user/{user}/linkToken", "POST")
    status, linked, _ = call(
        f"{line}/_standin/account-link", "POST", {"linkToken": body["linkToken"], "nonce": "n-1"}
    )
    assert status == 200 and linked["webhook"]["deliveries"][0]["status"] == 200
    # a link token is used once: LINE sends no webhook the second time
    again = call(f"{line}/_standin/account-link", "POST", {"linkToken": body["linkToken"], "nonce": "n-1"})
    assert again[0] == 400
    call(f"{line}/_standin/unfollow", "POST", {"userId": user})

    followed, said, link, left = receiver.events()
    assert said["type"] == "message" and said["message"]["text"] == "こんにちは" and said["replyToken"]
    assert link["type"] == "accountLink" and link["link"] == {"result": "ok", "nonce": "n-1"}
    assert link["source"] == {"type": "user", "userId": user}
    assert left["type"] == "unfollow" and "replyToken" not in left

    call(f"{line}/_standin/redeliver", "POST", {"webhookEventId": said["webhookEventId"]})
    redelivered = receiver.events()[-1]
    assert redelivered["deliveryContext"] == {"isRedelivery": True}
    assert {k: v for k, v in redelivered.items() if k != "deliveryContext"} == {
        k: v for k, v in said.items() if k != "deliveryContext"
    }
    assert followed["type"] == "follow"


def test_the_account_link_dialog_tells_the_bot_once(line: str, receiver: Receiver) -> None:
    user = follow(line)
    _, body, _ = call(f"{line}/v2/bot/user/{user}/linkToken", "POST")
    dialog = f"{line}/dialog/bot/accountLink?linkToken={body['linkToken']}&nonce=nonce-0123456789"
    with urllib.request.urlopen(dialog, timeout=10) as answer:
        assert answer.status == 200 and "Linked" in answer.read().decode()
    link = receiver.events()[-1]
    assert link["type"] == "accountLink" and link["link"] == {"result": "ok", "nonce": "nonce-0123456789"}
    with pytest.raises(urllib.error.HTTPError) as again:
        urllib.request.urlopen(dialog, timeout=10)
    assert again.value.code == 400 and len(receiver.got) == 2, "a used link token tells the bot nothing"


def test_what_was_delivered_survives_a_restart(tmp_path: Path) -> None:
    line, stop = serve(0, tmp_path / "line", TOKEN, SECRET, None)
    user = follow(line, displayName="再起動")
    call(f"{line}/v2/bot/message/push", "POST", {"to": user, "messages": [text("残る")]})
    stop()
    line, stop = serve(0, tmp_path / "line", TOKEN, SECRET, None)
    try:
        _, listed, _ = call(f"{line}/_standin/messages")
        assert listed["messages"][0]["messages"] == [text("残る")]
        assert call(f"{line}/v2/bot/profile/{user}")[1]["displayName"] == "再起動"
    finally:
        stop()
