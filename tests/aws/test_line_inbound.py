"""LINE inbound end to end: the LINE stand-in plays LINE over real HTTP (link tokens, pushes,
signed webhooks), its webhooks reach the real route (moto behind it), and the link is proven
the way the reference describes -- our page, a mail to the person we know, a nonce, the
accountLink event."""

from __future__ import annotations

import json
import re
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from chalicelib import bootstrap
from devstack.line_standin import serve
from tests.aws.test_api import drop_and_import
from tests.aws.test_beacons import auth
from tests.aws.test_scenarios import body, raw_mail

TOKEN, SECRET = "test-channel-access-token", "test-channel-secret"
FORM_POST = {"Content-Type": "application/x-www-form-urlencoded"}
PEOPLE = b"email,name,consent\naiko@example.com,Aiko,yes\nken@example.com,Ken,yes\n"


class Bridge:
    """LINE's webhook posts, handed to the API's own route as they came (raw body, headers)."""

    def __init__(self, api: Any) -> None:
        self.got: list[tuple[bytes, dict[str, str]]] = []
        got = self.got

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                got.append((raw, headers))
                answer = api.http.post("/line/webhook", body=raw, headers=headers)
                self.send_response(answer.status_code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/line/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def line(aws: dict[str, Any], api: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The stand-in on loopback with the channel's token and secret, which the stack's secret holds."""
    bridge = Bridge(api)
    url, stop = serve(0, tmp_path / "line", TOKEN, SECRET, bridge.url)
    secret = json.dumps({"channel_access_token": TOKEN, "channel_secret": SECRET})
    aws["session"].client("secretsmanager").put_secret_value(
        SecretId=aws["LineChannelSecret"], SecretString=secret
    )
    for name, value in {
        "SODATE_STAGE": "local",  # the LINE API is on loopback
        "SODATE_LINE_API": url,
        "SODATE_LINE_DIALOG_URL": f"{url}/dialog/bot/accountLink",
    }.items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()
    drop_and_import(aws, api, "people.csv", PEOPLE)
    yield url
    stop()
    bridge.server.shutdown()
    bridge.server.server_close()


def control(line: str, action: str, **fields: Any) -> dict[str, Any]:
    """The users' side: follow, unfollow, message, account-link, redeliver, forge."""
    request = urllib.request.Request(
        f"{line}/_standin/{action}", json.dumps(fields).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=20) as answer:
        found: dict[str, Any] = json.loads(answer.read())
        return found


def delivered(record: dict[str, Any]) -> int:
    """How the route answered the stand-in's last post of this webhook."""
    return int(record["webhook"]["deliveries"][-1]["status"])


def contact(api: Any, aws: dict[str, Any], email: str) -> dict[str, Any]:
    found: dict[str, Any] = api.http.get(f"/admin/contacts?email={email}", headers=auth(aws)).json_body
    return found


def line_entries(api: Any, aws: dict[str, Any], email: str) -> list[tuple[str, str, str, str]]:
    contact_id = contact(api, aws, email)["contact_id"]
    entries = api.http.get(f"/admin/contacts/{contact_id}/consent", headers=auth(aws)).json_body["entries"]
    return [(e["change"], e["source"], e["actor"], e["status"]) for e in entries if e["channel"] == "line"]


def offered_link_token(line: str, user_id: str) -> str:
    """The bot's newest message to the user: our page's address, with LINE's link token."""
    with urllib.request.urlopen(f"{line}/_standin/messages", timeout=10) as answer:
        sent = json.loads(answer.read())["messages"]
    texts = [json.dumps(m, ensure_ascii=False) for m in sent if user_id in json.dumps(m)]
    found = re.search(r"/line/link\?linkToken=([0-9A-Za-z_-]+)", texts[0])
    assert found, f"no link offered to {user_id}: {texts}"
    return found.group(1)


def mailed_link(api: Any, link_token: str, email: str) -> str:
    """The person says who they are on our page; the link comes to their mailbox."""
    answer = api.http.post(
        "/line/link", body=urlencode({"linkToken": link_token, "email": email}), headers=FORM_POST
    )
    assert answer.status_code == 200
    mails = [m for m in raw_mail() if m["X-Sodate-Mail"] == "line-link" and email in m["To"]]
    found = re.search(r"https?://\S+?/line/link\?t=[0-9A-Za-z_.=-]+", body(mails[-1], "plain"))
    assert found, "the mail carries the link"
    return urlsplit(found.group(0)).query


def confirm(api: Any, query: str) -> tuple[str, str]:
    """The mailed link opened (a page, nothing changes), then confirmed: off to LINE's dialog."""
    token = parse_qs(query)["t"][0]
    assert api.http.get(f"/line/link?{query}").status_code == 200
    answer = api.http.post("/line/link", body=urlencode({"t": token}), headers=FORM_POST)
    assert answer.status_code == 303, answer.body
    dialog = parse_qs(urlsplit(answer.headers["Location"]).query)
    return dialog["linkToken"][0], dialog["nonce"][0]


def link(line: str, api: Any, email: str, user_id: str) -> tuple[str, str]:
    """The whole account link, as a person does it; LINE's link token and our nonce."""
    link_token, nonce = confirm(api, mailed_link(api, offered_link_token(line, user_id), email))
    assert delivered(control(line, "account-link", linkToken=link_token, nonce=nonce)) == 200
    return link_token, nonce


def test_follow_then_a_proven_link_gives_the_contact_line_with_its_permission_in_the_ledger(aws, api, line):
    followed = control(line, "follow", displayName="愛子")
    user_id = followed["userId"]
    assert delivered(followed) == 200
    aiko = contact(api, aws, "aiko@example.com")
    assert "line_user_id" not in aiko and "line_permission" not in aiko, "a follow alone names no one"

    link(line, api, "aiko@example.com", user_id)
    aiko = contact(api, aws, "aiko@example.com")
    assert (aiko["line_user_id"], aiko["line_permission"]) == (user_id, "granted")
    assert line_entries(api, aws, "aiko@example.com") == [("granted", "line", "person", "granted")]
    assert "line_user_id" not in contact(api, aws, "ken@example.com")


def test_unfollow_withdraws_and_a_new_follow_grants_again_each_in_the_ledger(aws, api, line):
    user_id = control(line, "follow")["userId"]
    link(line, api, "aiko@example.com", user_id)
    assert delivered(control(line, "unfollow", userId=user_id)) == 200
    assert contact(api, aws, "aiko@example.com")["line_permission"] == "withdrawn"
    control(line, "follow", userId=user_id)
    assert contact(api, aws, "aiko@example.com")["line_permission"] == "granted"
    changes = [change for change, *_ in line_entries(api, aws, "aiko@example.com")]
    assert changes == ["granted", "withdrawn", "granted"]


def test_a_stop_reply_withdraws_line_permission_and_other_words_do_not(aws, api, line):
    user_id = control(line, "follow")["userId"]
    link(line, api, "ken@example.com", user_id)
    control(line, "message", userId=user_id, text="stop by the shop tomorrow?")
    assert contact(api, aws, "ken@example.com")["line_permission"] == "granted"
    assert delivered(control(line, "message", userId=user_id, text="停止")) == 200
    assert contact(api, aws, "ken@example.com")["line_permission"] == "withdrawn"
    assert line_entries(api, aws, "ken@example.com")[-1] == ("withdrawn", "line", "person", "withdrawn")


def test_forged_unsigned_replayed_and_redelivered_webhooks_change_nothing(aws, api, line):
    user_id = control(line, "follow")["userId"]
    link(line, api, "aiko@example.com", user_id)
    control(line, "unfollow", userId=user_id)
    before = (contact(api, aws, "aiko@example.com"), line_entries(api, aws, "aiko@example.com"))

    assert delivered(control(line, "forge", userId=user_id, signature="wrong")) == 401
    assert delivered(control(line, "forge", userId=user_id, signature="missing")) == 401
    sent = json.loads(_get(line, "webhooks"))["webhooks"]  # newest first
    first_follow = [r for r in sent if _kinds(r) == ["follow"] and not r["forged"]][-1]
    event_id = first_follow["body"]["events"][0]["webhookEventId"]
    assert delivered(control(line, "redeliver", webhookEventId=event_id)) == 200
    raw = json.dumps(first_follow["body"], ensure_ascii=False, separators=(",", ":")).encode()
    from devstack.line_webhooks import signature

    replay = {"Content-Type": "application/json", "x-line-signature": signature(SECRET, raw)}
    assert api.http.post("/line/webhook", body=raw, headers=replay).json_body == {"handled": 0, "repeated": 1}

    assert (contact(api, aws, "aiko@example.com"), line_entries(api, aws, "aiko@example.com")) == before
    garbled = {"Content-Type": "application/json", "x-line-signature": signature(SECRET, b"{not json")}
    assert api.http.post("/line/webhook", body=b"{not json", headers=garbled).status_code == 400


def test_a_reused_nonce_an_unknown_one_and_a_failed_link_join_nobody(aws, api, line):
    aiko_line = control(line, "follow")["userId"]
    _, nonce = link(line, api, "aiko@example.com", aiko_line)
    stranger = control(line, "follow")["userId"]
    control(line, "message", userId=stranger, text="連携")  # asks for the link: a new offer
    assert (
        delivered(control(line, "account-link", linkToken=offered_link_token(line, stranger), nonce=nonce))
        == 200
    )
    assert contact(api, aws, "aiko@example.com")["line_user_id"] == aiko_line, "a nonce links once"

    control(line, "message", userId=stranger, text="link")  # a link token is used once: another
    query = mailed_link(api, offered_link_token(line, stranger), "ken@example.com")
    link_token, ken_nonce = confirm(api, query)
    control(line, "account-link", linkToken=link_token, nonce=ken_nonce, result="failed")
    control(line, "message", userId=stranger, text="link")
    control(line, "account-link", linkToken=offered_link_token(line, stranger), nonce="n" * 32)
    assert "line_user_id" not in contact(api, aws, "ken@example.com")
    token = parse_qs(query)["t"][0]
    again = api.http.post("/line/link", body=urlencode({"t": token}), headers=FORM_POST)
    assert again.status_code == 404, "the mailed link is spent once confirmed"


def test_our_page_mails_only_addresses_we_know_and_says_the_same_either_way(aws, api, line):
    user_id = control(line, "follow")["userId"]
    link_token = offered_link_token(line, user_id)
    mails = len(raw_mail())
    known = api.http.post(
        "/line/link", body=urlencode({"linkToken": link_token, "email": "ken@example.com"}), headers=FORM_POST
    )
    unknown = api.http.post(
        "/line/link", body=urlencode({"linkToken": link_token, "email": "who@example.com"}), headers=FORM_POST
    )
    assert known.body == unknown.body and len(raw_mail()) == mails + 1
    assert api.http.get("/line/link?t=forged.token").status_code == 404


def _get(line: str, listing: str) -> str:
    with urllib.request.urlopen(f"{line}/_standin/{listing}", timeout=10) as answer:
        return str(answer.read().decode())


def _kinds(record: dict[str, Any]) -> list[str]:
    return [e["type"] for e in record["body"]["events"]]


def test_our_page_mails_an_address_a_few_times_and_a_link_token_asks_for_a_few_addresses(aws, api, line):
    link_token = offered_link_token(line, control(line, "follow")["userId"])

    def ask(email: str) -> int:
        form = urlencode({"linkToken": link_token, "email": email})
        return int(api.http.post("/line/link", body=form, headers=FORM_POST).status_code)

    assert [ask("ken@example.com") for _ in range(4)] == [200] * 4  # the page says the same each time
    assert len([m for m in raw_mail() if m["X-Sodate-Mail"] == "line-link"]) == 3  # but mails 3 an hour
    assert ask("aiko@example.com") == 200  # the token's fifth
    assert ask("who@example.com") == 429, "one LINE user's token asks for no more addresses just now"


def test_a_link_to_a_line_user_who_does_not_follow_takes_line_away_in_the_ledger(aws, api, line):
    first = control(line, "follow")["userId"]
    link(line, api, "aiko@example.com", first)
    second = control(line, "follow")["userId"]
    link_token = offered_link_token(line, second)
    assert delivered(control(line, "unfollow", userId=second)) == 200
    token, nonce = confirm(api, mailed_link(api, link_token, "aiko@example.com"))
    assert delivered(control(line, "account-link", linkToken=token, nonce=nonce)) == 200
    aiko = contact(api, aws, "aiko@example.com")
    assert aiko["line_user_id"] == second and "line_permission" not in aiko
    assert line_entries(api, aws, "aiko@example.com") == [
        ("granted", "line", "person", "granted"),
        ("withdrawn", "line", "person", "withdrawn"),
    ]


def test_erasing_a_contact_cuts_their_line_users_link_and_later_events_touch_no_one(aws, api, line):
    user_id = control(line, "follow")["userId"]
    link(line, api, "aiko@example.com", user_id)
    contact_id = contact(api, aws, "aiko@example.com")["contact_id"]
    assert api.http.delete(f"/admin/contacts/{contact_id}", headers=auth(aws)).status_code == 200
    events = aws["session"].client("dynamodb")
    item = events.get_item(
        TableName=bootstrap.settings().events_table,
        Key={"pk": {"S": f"line-user#{user_id}"}, "sk": {"S": "line"}},
    )["Item"]
    assert "contact_id" not in item, "the LINE user no longer leads to the erased person"
    assert delivered(control(line, "unfollow", userId=user_id)) == 200
    assert api.http.get("/admin/contacts?email=aiko@example.com", headers=auth(aws)).status_code == 404


@pytest.mark.parametrize("before", ["granted", "withdrawn"])
def test_an_older_follow_handled_while_a_newer_unfollow_lands_never_grants_again(
    aws, api, line, monkeypatch, before
):
    from chalicelib.store.line_people import DynamoLinePeople

    user_id = control(line, "follow")["userId"]
    link(line, api, "aiko@example.com", user_id)
    if before == "withdrawn":
        control(line, "unfollow", userId=user_id)
    record = DynamoLinePeople.set_permission
    raced: list[int] = []

    def unfollowed_meanwhile(self: Any, user: str, permission: str, at_ms: int) -> Any:
        kept = record(self, user, permission, at_ms)
        if permission == "granted" and not raced:  # the follow has passed its own check...
            raced.append(delivered(control(line, "unfollow", userId=user_id)))  # ...the newer one runs whole
        return kept

    monkeypatch.setattr(DynamoLinePeople, "set_permission", unfollowed_meanwhile)
    control(line, "follow", userId=user_id)

    assert raced == [200]
    assert contact(api, aws, "aiko@example.com")["line_permission"] == "withdrawn", "the newest event holds"
    changes = [change for change, *_ in line_entries(api, aws, "aiko@example.com")]
    assert changes == ["granted", "withdrawn"], changes  # the older follow leaves no trace
