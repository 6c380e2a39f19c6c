"""LINE and SMS sends over the wire: the LINE and End User Messaging SMS stand-ins on loopback
(real HTTP, the services' answers) and moto's DynamoDB and SNS, through the real runner, ledger,
token bucket and adapters."""

from __future__ import annotations

import itertools
import json
import os
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib import bootstrap, clock
from chalicelib.aws.channels import LineClient
from chalicelib.aws.sms_voice import SmsVoiceSms, sms_voice_client
from chalicelib.domain import people_index
from chalicelib.domain.channels import field
from chalicelib.domain.journeys import Journey, Place
from chalicelib.services.messenger import Messenger
from chalicelib.services.sms_replies import HonouringStops
from chalicelib.store.channel_ledger import ChannelTable
from chalicelib.store.sms_stops import DynamoSmsStops
from devstack.line_standin import serve
from tests.aws.conftest import queued_bodies
from tests.aws.test_scenarios import to_tokyo_hour

TOKEN, SECRET = "channel-token", "channel-secret"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config"
SCENARIOS = """
timezone: Asia/Tokyo
frequency_cap: {mails: 2, hours: 24}
scenarios:
  - name: hello
    entry: {event: purchase}
    steps:
      - id: hi
        send: thank_you
        channels: [line, sms, email]
        line: {text: "{{ name | default('お客様') }}様 新茶 https://shop.example.jp/new"}
        sms: "{{ name | default('お客様') }}様 ご購入ありがとうございます"
      - {id: bye, exit: true}
"""


class Crash(BaseException):
    """The process dies (not an error anything handles)."""


class CrashAfterPush:
    """LINE takes the push, then the sender dies before the ledger hears of it."""

    def __init__(self, line: LineClient) -> None:
        self.line, self.armed = line, True

    def push(self, user_id: str, messages: list[dict[str, Any]], retry_key: str) -> str:
        answer = self.line.push(user_id, messages, retry_key)
        if self.armed:
            self.armed = False
            raise Crash()
        return answer


def standin(base: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        result: dict[str, Any] = json.loads(answer.read())
        return result


class Channels:
    def __init__(
        self, aws: dict[str, Any], tmp: Path, rate: float | None, scenarios: str = SCENARIOS
    ) -> None:
        self.url, self.stop = serve(0, tmp / "line", TOKEN, SECRET, None, rate)
        self.line = LineClient(self.url, lambda: TOKEN)
        definitions = bootstrap.definitions()
        for kind in ("catalogue", "scoring", "segments", "templates"):
            definitions.submit(kind, (EXAMPLES / f"{kind}.yaml").read_bytes(), f"{kind}.yaml")
        definitions.submit("scenarios", scenarios.encode(), "scenarios.yaml")

    def messenger(self, line: Any = None, limit: float = 2000.0) -> Messenger:
        buckets = ChannelTable(
            bootstrap._client("dynamodb"), bootstrap.settings().journeys_table, clock.wall, line=limit, sms=20
        )
        s = bootstrap.settings()
        stops = DynamoSmsStops(
            bootstrap._client("dynamodb"), s.events_table, s.contacts_table, s.people_index_table
        )
        texts = SmsVoiceSms(sms_voice_client(s.sms_voice_url), s.sms_configuration_set)
        sms = HonouringStops(texts, stops)  # as bootstrap wires it
        uses = (bootstrap.journey_store(), bootstrap.contact_state(), bootstrap.mailer())
        messenger = Messenger(
            line or self.line, sms, buckets, *uses, clock.wall, time.sleep
        )  # each send at its moment
        bootstrap.provide(messenger=messenger, pause=lambda seconds: None)
        return messenger

    def follower(self) -> str:
        return str(standin(self.url, "/_standin/follow", {"displayName": "友"})["userId"])

    def person(self, n: int, line_user: str = "", phone: str = "", **consent: str) -> str:
        contact_id, email = f"c{n:03d}", f"p{n}@example.jp"
        reach = {"line_user_id": line_user, **consent} if line_user else dict(consent)  # as linked
        contact = {"email": email, "contact_id": contact_id, "status": "subscribed", "name": f"P{n}"}
        assert bootstrap.contact_directory().create_if_absent(
            contact | reach | ({"phone": phone} if phone else {})
        )
        now = datetime.fromtimestamp(clock.now(), UTC)
        version = bootstrap.definitions().in_force().definitions.journeys.version
        place = Place(
            Journey("hello", contact_id, 1, "hi", now), email, version, "active", 0, now.timestamp()
        )
        bootstrap.journey_store().save(place)
        return contact_id

    def delivered(self) -> list[tuple[str, str]]:
        sent = standin(self.url, "/_standin/messages")["messages"]
        return [(r["recipients"][0]["userId"], m["text"]) for r in sent for m in r["messages"]]

    def ledger(self, contact_id: str) -> dict[str, str]:
        return bootstrap.journey_store().action(contact_id, f"{contact_id}#hello#hi#1") or {}

    def counters(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for _, step, figure, n in bootstrap.journey_store().counters("hello"):
            if step == "hi":
                found[figure] = found.get(figure, 0) + n
        return found


@pytest.fixture
def channels(aws: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Channels]:
    clock.reset()
    to_tokyo_hour(10)
    world = Channels(aws, tmp_path, getattr(request, "param", None))
    yield world
    world.stop()
    clock.reset()


def sms_texts() -> list[dict[str, Any]]:
    """What the End User Messaging SMS stand-in took, oldest first (its JSON listing)."""
    found = standin(os.environ["SODATE_SMS_VOICE_URL"], "/_standin/texts")["texts"]
    return list(reversed(found))


def sms_sent() -> list[tuple[str, str]]:
    return [(t["DestinationPhoneNumber"], t["MessageBody"]) for t in sms_texts()]


def test_a_push_reaches_line_once_with_tracked_links_and_a_second_tick_sends_nothing(channels):
    channels.messenger()
    user = channels.follower()
    who = channels.person(1, user, line_permission="granted")
    assert bootstrap.runner().tick()["sent"] == 1
    assert bootstrap.runner().tick()["sent"] == 0
    ((to, text),) = channels.delivered()
    assert to == user and text.startswith("P1様 新茶 https://mail.example.test/api/c/")
    assert channels.ledger(who)["status"] == "sent" and channels.ledger(who)["channel"] == "line"
    assert channels.counters()["line_sent"] == channels.counters()["sent"] == 1


def test_a_crash_after_line_accepted_is_retried_with_the_same_key_409_counted_sent_delivered_once(channels):
    crashing = CrashAfterPush(channels.line)
    channels.messenger(crashing)
    who = channels.person(1, channels.follower(), line_permission="granted")
    with pytest.raises(Crash):
        bootstrap.runner().tick()
    assert channels.ledger(who)["status"] == "claimed"  # LINE took it; the ledger never heard
    clock.travel(60)  # the next tick: the claim's sender is gone
    assert bootstrap.runner().tick()["sent"] == 1
    assert len(channels.delivered()) == 1  # the retry was answered 409, not delivered again
    assert channels.ledger(who)["status"] == "sent" and channels.counters()["line_sent"] == 1


def test_the_same_people_walked_twice_by_two_ticks_get_one_message(channels):
    channels.messenger()
    who = channels.person(1, channels.follower(), line_permission="granted")
    store, runner = bootstrap.journey_store(), bootstrap.runner()
    first = [p for shard in range(store.shards) for p in store.due(shard, clock.now(), 10)]
    second = [p for shard in range(store.shards) for p in store.due(shard, clock.now(), 10)]
    assert len(first) == len(second) == 1  # both ticks read the place before either saved it
    assert runner.walk_many(first) == 1
    assert runner.walk_many(second) == 0  # its save loses the race; the ledger said 'claimed'
    assert len(channels.delivered()) == 1 and channels.counters()["line_sent"] == 1
    assert channels.ledger(who)["status"] == "sent"


@pytest.mark.parametrize("channels", [4.0], indirect=True)
def test_a_429_storm_makes_the_steps_wait_and_everyone_gets_one_message_in_the_end(channels):
    channels.messenger(limit=1000.0)  # our limit set far above the channel's: LINE answers 429
    users = [channels.follower() for _ in range(12)]
    for n, user in enumerate(users):
        channels.person(n, user, line_permission="granted")
    throttled = 0
    for _ in range(30):
        answer = bootstrap.runner().tick()
        throttled += answer.get("throttled", 0)
        if len(channels.delivered()) == len(users):
            break
        clock.travel(60)
        time.sleep(1.0)  # the stand-in counts in one-second windows of real time
    assert throttled > 0 and len(channels.delivered()) == len(users)
    assert sorted(to for to, _ in channels.delivered()) == sorted(users)  # each exactly once
    assert channels.counters()["line_sent"] == len(users)


def test_sms_goes_through_end_user_messaging_once_and_an_opted_out_number_is_mailed_instead(channels, aws):
    channels.messenger()
    texted = channels.person(1, phone="090-1234-5678", sms_permission="granted")
    opted_out = channels.person(2, phone="090-1234-5699", sms_permission="granted")
    sms_voice = aws["session"].client(
        "pinpoint-sms-voice-v2", endpoint_url=os.environ["SODATE_SMS_VOICE_URL"]
    )
    sms_voice.put_opted_out_number(OptOutListName="Default", OptedOutNumber="+819012345699")
    bootstrap.runner().tick()
    bootstrap.runner().tick()
    assert sms_sent() == [("+819012345678", "P1様 ご購入ありがとうございます")]
    assert channels.ledger(texted)["channel"] == "sms"
    refused = channels.ledger(opted_out)  # the service refused the text: the step went by mail
    assert "channel" not in refused and refused.get("status") == "sent" and refused["ses_id"], refused
    assert channels.counters()["sms_sent"] == 1 and not channels.counters().get("sms_failed")


def test_a_stop_reply_to_our_number_stops_its_texts_and_the_step_mails_instead(channels, aws, api, streams):
    channels.messenger()
    stopped = channels.person(1, phone="090-1234-5678", sms_permission="granted")
    channels.person(2, phone="090-1234-5670", sms_permission="granted")
    sharing = channels.person(3, phone="+81 90 1234 5678", sms_permission="granted")  # the same number
    streams()  # the people index learns who may be texted at each number
    sns, sqs = aws["session"].client("sns"), aws["session"].client("sqs")
    for n, text in enumerate(["stop by the shop?", "停止。"]):  # two-way SMS's payload, to its topic
        reply = {"originationNumber": "+819012345678", "destinationNumber": "+815012340000"}
        reply |= {"messageKeyword": "KEYWORD", "messageBody": text, "inboundMessageId": f"in-{n}"}
        sns.publish(TopicArn=aws["SmsRepliesTopicArn"], Message=json.dumps(reply, ensure_ascii=False))
    bodies = queued_bodies(sqs, aws["MailFeedbackQueueUrl"])  # the topic delivers to the feedback queue
    assert len(bodies) == 2
    event = api.events.generate_sqs_event(queue_name="sodate-mail-feedback", message_bodies=bodies)
    api.lambda_.invoke("mail_feedback", event)
    bootstrap.runner().tick()
    assert sms_sent() == [("+819012345670", "P2様 ご購入ありがとうございます")]
    assert "channel" not in channels.ledger(stopped)  # mailed instead
    for who, email in (
        (stopped, "p1@example.jp"),
        (sharing, "p3@example.jp"),
    ):  # each person's record says so
        assert field(bootstrap.contact_state().for_sending(email)[0], "sms_permission") == "withdrawn"
        (entry,) = [e for e in bootstrap.consent().history(who) if e["channel"] == "sms"]
        assert (entry["change"], entry["source"], entry["detail"]["reply"]) == ("withdrawn", "sms", "in-1")
    assert field(bootstrap.contact_state().for_sending("p2@example.jp")[0], "sms_permission") == "granted"
    streams()  # the withdrawals reach the people index: nobody stopped is found under the number
    number = (
        aws["session"]
        .client("dynamodb")
        .query(
            TableName=bootstrap.settings().people_index_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": people_index.phone_partition("+819012345678")}},
        )
    )
    assert number["Items"] == []


def test_no_line_permission_falls_back_to_the_next_channel(channels):
    channels.messenger()
    user = channels.follower()
    who = channels.person(1, user, phone="09012345678", line_permission="withdrawn", sms_permission="granted")
    bootstrap.runner().tick()
    assert channels.delivered() == [] and len(sms_sent()) == 1
    assert channels.ledger(who)["channel"] == "sms"


def test_the_fleets_schedule_gives_each_lambda_its_own_moments_at_the_rate_however_they_take(aws):
    now = [1000.0]
    db, table = bootstrap._client("dynamodb"), bootstrap.settings().journeys_table
    one, two = (ChannelTable(db, table, lambda: now[0], line=1000.0) for _ in range(2))  # two Lambdas
    first = one.take("line", 500)
    assert first == (46, 1000.0, pytest.approx(1 / 930))  # 50 ms of 93 % of the limit, from now
    second = two.take("line", 500)  # from an older view: told the schedule's state with the refusal
    assert second.sends == 46 and second.start == pytest.approx(1000.0 + 46 / 930)  # where one's ends
    assert one.take("line", 10).start == pytest.approx(1000.0 + 92 / 930)  # a smaller lease goes on
    held = one.take("line", 500)
    assert held.sends == 0 and held.start == pytest.approx(1000.0 + 102 / 930 - 0.1)  # 100 ms ahead
    leases = [first, second]
    for _ in range(500):  # ten seconds, the two taking in turn every 20 ms
        now[0] += 0.02
        leases += [lease for lease in (one.take("line", 500), two.take("line", 500)) if lease.sends]
    moments = sorted(lease.start + n * lease.step for lease in leases for n in range(lease.sends))
    assert all(b - a >= 1 / 930 - 1e-6 for a, b in itertools.pairwise(moments))  # none shared
    assert 930 * 10 <= len(moments) <= 930 * 10.1 + 1  # at the rate for 10 s (and 100 ms ahead), no more
