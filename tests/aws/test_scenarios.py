"""Scenarios through the real handlers, moto behind them: entries, the tick, SES, links, feedback."""

from __future__ import annotations

import email
import json
import re
import threading
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from zoneinfo import ZoneInfo

import pytest

from chalicelib import bootstrap, clock
from chalicelib.store.journeys import JourneyStore
from chalicelib.web import records
from tests.aws.conftest import PUBLIC_URL
from tests.aws.test_api import drop_and_import
from tests.aws.test_beacons import auth
from tests.aws.test_identity import contact_by_email, timeline
from tests.aws.test_scoring_segments import put_definition

TOKYO = ZoneInfo("Asia/Tokyo")


def to_tokyo_hour(hour: int) -> None:
    """Move the clock forward to the next `hour`:00 in Tokyo (the examples mail 08:00-21:00)."""
    now = datetime.fromtimestamp(clock.now(), TOKYO)
    target = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if target <= now:
        target += timedelta(days=1)
    clock.travel((target - now).total_seconds())


def raw_mail() -> list[email.message.Message]:
    from moto.ses.models import ses_backends

    return [
        email.message_from_string(m.raw_data)
        for m in ses_backends["123456789012"]["us-east-1"].sent_messages
        if hasattr(m, "raw_data")
    ]


def subject(message: email.message.Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def body(message: email.message.Message, kind: str = "html") -> str:
    for part in message.walk():
        if part.get_content_type() == f"text/{kind}":
            return part.get_payload(decode=True).decode("utf-8")
    raise AssertionError(f"no text/{kind} part")


def buyers_csv(*emails: str, consent: str = "yes") -> bytes:
    day = datetime.fromtimestamp(clock.now(), UTC).date().isoformat()
    rows = "".join(f"{e},{e.split('@')[0].title()},{consent},1,1200,{day},{day},TEA-100\n" for e in emails)
    return ("email,name,consent,購入回数,累計購入金額,初回購入日,最終購入日,最終購入商品\n" + rows).encode()


def tick(api, aws) -> dict:
    answer = api.http.post("/admin/jobs/tick", headers=auth(aws))
    assert answer.status_code == 200, answer.body
    return answer.json_body


def report(api, aws, name: str = "first_purchase", query: str = "") -> dict:
    answer = api.http.get(f"/admin/scenarios/{name}/report{query}", headers=auth(aws))
    assert answer.status_code == 200, answer.body
    return answer.json_body


def step(rep: dict, step_id: str) -> dict:
    return next(s for s in rep["steps"] if s["step"] == step_id)


def path_of(url: str) -> str:
    return url.removeprefix(PUBLIC_URL)


# --- the journey ---------------------------------------------------------------------------------
def test_first_buyers_are_thanked_taught_and_branch_on_their_click_until_the_goal(aws, api, streams, shop):
    assert drop_and_import(aws, api, "buyers.csv", buyers_csv("aiko@example.com", "ben@example.com"))[
        "created"
    ]
    streams()  # evaluation puts them in first_time_buyers; that entry enters the scenario
    assert tick(api, aws)["walked"] == 2
    thanks = raw_mail()
    assert sorted(m["To"] for m in thanks) == ["aiko@example.com", "ben@example.com"]
    aiko = next(m for m in thanks if m["To"] == "aiko@example.com")
    assert subject(aiko) == "Aiko様、ご購入ありがとうございます"
    assert aiko["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.fullmatch(r"<(https://\S+)>", aiko["List-Unsubscribe"]).group(1)
    assert unsubscribe.startswith(f"{PUBLIC_URL}/u/")
    assert "Sodate Tea" in str(make_header(decode_header(aiko["From"])))
    html = body(aiko)
    assert "1-2-3 Jingumae" in html and unsubscribe in html and "はじめてのご購入" in html
    assert f'href="{PUBLIC_URL}/c/' in html and "https://shop.example.jp/guide" not in html  # tracked
    assert tick(api, aws)["walked"] == 0  # waiting three days: nothing is due

    clock.travel(3 * 86400)
    tick(api, aws)
    tips = [m for m in raw_mail() if subject(m).startswith("三日目")]
    assert sorted(m["To"] for m in tips) == ["aiko@example.com", "ben@example.com"]
    aiko_tips = next(m for m in tips if m["To"] == "aiko@example.com")
    link = re.search(r'href="([^"]+/c/[^"]+)"', body(aiko_tips)).group(1)
    clock.travel(600)  # read ten minutes after it came
    click = api.http.get(path_of(link), headers={"User-Agent": "Mozilla/5.0 (Macintosh) Safari/605.1"})
    assert click.status_code == 302
    landing = click.headers["Location"]
    assert landing.startswith("https://shop.example.jp/products/tea-500?sodate_t=")
    streams()

    clock.travel(7 * 86400)
    tick(api, aws)
    later = {m["To"]: subject(m) for m in raw_mail()[4:]}
    assert later["aiko@example.com"].endswith("玉露のご案内")  # she clicked: the upgrade
    ben_place = [
        p
        for p in bootstrap.journey_store().places_of(
            contact_by_email(api, aws, "ben@example.com")["contact_id"]
        )
    ]
    assert ben_place[0].journey.branches == {
        "offer_test": (later.get("ben@example.com") and "coupon") or "holdout"
    }

    rep = report(api, aws)
    assert rep["totals"]["entered"] == 2
    assert step(rep, "thanks")["sent"] == 2 and step(rep, "tips")["sent"] == 2
    assert step(rep, "tips")["clicked"] == 1 and step(rep, "tips")["click_rate"] == 0.5
    assert step(rep, "upgrade")["sent"] == 1
    kinds = [
        e["kind"] for e in timeline(api, aws, contact_by_email(api, aws, "aiko@example.com")["contact_id"])
    ]
    assert {"scenario_enter", "mail_sent", "email_click"} <= set(kinds)
    clock.travel(14 * 86400)  # two weeks without buying again: out, no goal
    tick(api, aws)
    assert {
        p.status
        for p in bootstrap.journey_store().places_of(
            contact_by_email(api, aws, "aiko@example.com")["contact_id"]
        )
    } == {"exited"}
    assert report(api, aws)["totals"]["exit"] == 2


def test_a_purchase_reaches_the_goal_and_counts_as_a_conversion(aws, api, streams, shop):
    drop_and_import(aws, api, "buyers.csv", buyers_csv("aiko@example.com"))
    streams()
    tick(api, aws)
    day = datetime.fromtimestamp(clock.now(), UTC).date().isoformat()
    second = f"email,購入回数,最終購入日\naiko@example.com,2,{day}\n".encode()
    drop_and_import(aws, api, "second-order.csv", second)
    streams()  # into repeat_buyers: the goal
    clock.travel(3 * 86400)
    tick(api, aws)
    assert len(raw_mail()) == 1  # no tips: she left at the goal
    rep = report(api, aws)
    assert rep["totals"]["goal"] == 1 and rep["totals"]["goal_rate"] == 1.0
    first_day = report(api, aws, query=f"?since={day}&until={day}")["totals"]
    assert first_day["entered"] == 1 and "goal" not in first_day, "she reached the goal three days on"
    later = (datetime.fromisoformat(day) + timedelta(days=1)).date().isoformat()
    since_then = report(api, aws, query=f"?since={later}")["totals"]
    assert since_then["goal"] == 1 and "entered" not in since_then
    for query, named in (
        ("?since=abc", "since must be a day"),
        ("?until=2026-02-30", "until is not a day of the calendar"),
        (f"?since={later}&until={day}", "until comes before since"),
    ):
        refused = api.http.get(f"/admin/scenarios/first_purchase/report{query}", headers=auth(aws))
        assert refused.status_code == 400 and named in refused.json_body["Message"], refused.body
    (place,) = bootstrap.journey_store().places_of(
        contact_by_email(api, aws, "aiko@example.com")["contact_id"]
    )
    assert place.status == "goal"


# --- exactly once ---------------------------------------------------------------------------------
def test_a_crash_after_ses_took_the_mail_never_sends_it_again(aws, api, streams, shop, monkeypatch):
    drop_and_import(aws, api, "buyers.csv", buyers_csv("aiko@example.com"))
    streams()
    real_record = JourneyStore.record_sent

    def crash_once(self, *args):
        monkeypatch.setattr(JourneyStore, "record_sent", real_record)
        raise ConnectionError("the Lambda died right after SES answered")

    monkeypatch.setattr(JourneyStore, "record_sent", crash_once)
    with pytest.raises(ConnectionError):
        bootstrap.runner().tick()
    assert len(raw_mail()) == 1
    bootstrap.runner().tick()  # the place was not moved: the step is walked again
    bootstrap.runner().tick()
    assert len(raw_mail()) == 1, "the ledger's claim stops a second send"


def test_two_ticks_at_once_and_a_redelivered_entry_send_one_mail_each(aws, api, streams, shop):
    people = [f"p{n}@example.com" for n in range(12)]
    drop_and_import(aws, api, "buyers.csv", buyers_csv(*people))
    streams()
    engine = bootstrap.runner()
    threads = [threading.Thread(target=engine.tick) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(m["To"] for m in raw_mail()) == sorted(people)
    # The same segment entry delivered again (a stream retry): nobody enters twice.
    contact_id = contact_by_email(api, aws, "p0@example.com")["contact_id"]
    record = {
        "eventName": "INSERT",
        "dynamodb": {
            "NewImage": {
                "pk": {"S": f"c#{contact_id}"},
                "kind": {"S": "segment_enter"},
                "name": {"S": "first_time_buyers"},
            }
        },
    }
    engine.on_events(records.timeline_inserts([record, record])[0])
    engine.tick()
    assert len(raw_mail()) == len(people)
    assert report(api, aws)["totals"]["entered"] == len(people)


def test_ses_throttling_is_retried_and_nothing_is_lost(aws, api, streams, shop):
    drop_and_import(aws, api, "buyers.csv", buyers_csv("aiko@example.com", "ben@example.com"))
    streams()
    ses = ThrottlingSes(bootstrap.mail_transport(), refusals=10**6)
    bootstrap.provide(mail_transport=ses, pause=lambda seconds: None)
    # SES refuses all afternoon: five tries each in the run, then the claims are given back.
    assert bootstrap.runner().tick()["throttled"] == 1
    assert len(raw_mail()) == 0
    ses.refusals = 2  # the next tick: two more refusals, then SES takes both
    assert "throttled" not in bootstrap.runner().tick()
    assert sorted(m["To"] for m in raw_mail()) == ["aiko@example.com", "ben@example.com"]


class ThrottlingSes:
    """SES in front of the emulator's, refusing the first `refusals` mails as too fast."""

    def __init__(self, real, refusals: int) -> None:
        self._real = real
        self.refusals = refusals
        self._lock = threading.Lock()

    def send_raw(self, to: str, raw: bytes) -> str:
        from chalicelib.domain.mail.message import MailThrottledError

        with self._lock:
            refused = self.refusals > 0
            self.refusals -= refused
        if refused:
            raise MailThrottledError("Maximum sending rate exceeded.")
        return self._real.send_raw(to, raw)


def test_quiet_hours_hold_a_mail_until_the_window_opens_in_the_persons_timezone(aws, api, streams, shop):
    to_tokyo_hour(23)
    drop_and_import(aws, api, "buyers.csv", buyers_csv("aiko@example.com"))
    streams()
    tick(api, aws)
    assert raw_mail() == []
    to_tokyo_hour(7)
    tick(api, aws)
    assert raw_mail() == []
    to_tokyo_hour(8)
    tick(api, aws)
    assert len(raw_mail()) == 1


def test_the_readme_clock_example_at_night_holds_the_tips_says_so_and_sends_them_in_the_morning(
    aws, api, streams, shop, monkeypatch
):
    monkeypatch.setenv("SODATE_STAGE", "local")  # POST /admin/clock: the local stack only
    bootstrap.reset()

    def move_clock(seconds: float) -> datetime:
        answer = api.http.post(
            "/admin/clock", body=json.dumps({"advance_seconds": seconds}), headers=auth(aws)
        )
        assert answer.status_code == 200, answer.body
        return datetime.fromtimestamp(answer.json_body["now"], TOKYO)

    drop_and_import(aws, api, "buyers.csv", buyers_csv("aiko@example.com"))
    streams()
    assert tick(api, aws) == {"walked": 1, "tasks": 0, "sent": 1, "held": {}}  # the thanks, at 10:00
    aiko = contact_by_email(api, aws, "aiko@example.com")["contact_id"]

    # 22:50 in Tokyo, then the README's three days on: the tips are due, the window is shut
    move_clock(12 * 3600 + 50 * 60)
    night = move_clock(259200)
    assert (night.hour, night.minute) == (22, 50)
    assert tick(api, aws) == {"walked": 1, "tasks": 0, "sent": 0, "held": {"send_window": 1}}
    assert len(raw_mail()) == 1
    (held,) = [e for e in timeline(api, aws, aiko) if e["kind"] == "mail_held"]
    morning = (night + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    assert held == {
        "kind": "mail_held",
        "at": held["at"],
        "name": "first_purchase",
        "step": "tips",
        "template": "tips",
        "reason": "send_window",
        "then": "retry",
        "retry_at": morning.isoformat(),  # 08:00+09:00, when the window opens
    }

    move_clock(60)  # the next tick, a minute later: nothing is due, nothing more is said
    assert tick(api, aws) == {"walked": 0, "tasks": 0, "sent": 0, "held": {}}
    move_clock((morning - night).total_seconds() - 60)  # 08:00
    assert tick(api, aws) == {"walked": 1, "tasks": 0, "sent": 1, "held": {}}
    (_, tips) = raw_mail()
    assert subject(tips).startswith("三日目") and tips["To"] == "aiko@example.com"
    kinds = [e["kind"] for e in timeline(api, aws, aiko) if e["kind"].startswith("mail_")]
    assert kinds == ["mail_sent", "mail_held", "mail_sent"]  # newest first


# --- definitions ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "text", "field", "words"),
    [
        (
            "scenarios",
            "scenarios:\n  - name: x\n    entry: {segment: prospects}\n    steps:\n"
            "      - {id: a, send: thank_you, next: nowhere}\n",
            "scenarios[0].steps[0]",
            "'nowhere', which is not a step",
        ),
        (
            "scenarios",
            "scenarios:\n  - name: x\n    entry: {segment: prospects}\n    steps:\n"
            "      - {id: a, send: thank_you}\n      - {id: b, send: tips, next: a}\n",
            "scenarios[0].steps[0]",
            "a loop without a wait",
        ),
        (
            "scenarios",
            "scenarios:\n  - name: x\n    entry: {segment: prospects}\n    steps:\n"
            "      - {id: a, send: no_such_mail}\n",
            "scenarios[0].steps[0].send",
            "no template named 'no_such_mail'",
        ),
        (
            "templates",
            "sender: {name: S, postal_address: Tokyo}\ntemplates:\n  - name: t\n    subject: Hi {{ name }}\n"
            "    html: <p>x</p>\n    text: x\n",
            "templates[0].subject",
            "give it a default",
        ),
        (
            "templates",
            "templates:\n  - {name: t, subject: s, html: h, text: t}\n",
            "sender",
            "postal_address",
        ),
    ],
)
def test_bad_scenarios_and_templates_are_reported_and_change_nothing(
    aws, api, shop, kind, text, field, words
):
    answer = put_definition(api, aws, kind, text)
    assert answer.status_code == 400
    (issue,) = [e for e in answer.json_body["errors"] if e["field"] == field]
    assert words in issue["message"] and issue["line"]
    described = api.http.get(f"/admin/definitions/{kind}", headers=auth(aws)).json_body
    assert described["version"] == 1  # the shipped example is still in force


def test_a_person_erased_mid_scenario_leaves_nothing_of_theirs_in_the_journeys_table(aws, api, streams, shop):
    drop_and_import(aws, api, "buyers.csv", buyers_csv("aiko@example.com"))
    streams()
    tick(api, aws)  # thanked; three days to wait for the tips
    contact_id = contact_by_email(api, aws, "aiko@example.com")["contact_id"]

    erased = api.http.delete(f"/admin/contacts/{contact_id}", headers=auth(aws))

    assert erased.status_code == 200 and erased.json_body["journey_items_deleted"] >= 3  # place, send, cap
    table = json.dumps(aws["session"].client("dynamodb").scan(TableName=aws["JourneysTable"])["Items"])
    assert "aiko" not in table and f"c#{contact_id}" not in table, "no place, send, cap or task of hers"
    assert step(report(api, aws), "three_days")["waiting"] == 0, "and nobody is counted as waiting"
    clock.travel(3 * 86400)
    assert tick(api, aws)["walked"] == 0 and len(raw_mail()) == 1, "no tips for someone erased"
