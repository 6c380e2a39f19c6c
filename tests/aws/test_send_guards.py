"""What holds a mail back when two things happen at once: the frequency cap with two ticks
mailing one person, and an unsubscribe that an import's write-back overwrote."""

from __future__ import annotations

import threading

from chalicelib import bootstrap, clock
from tests.aws.test_api import drop_and_import
from tests.aws.test_identity import contact_by_email, timeline
from tests.aws.test_scenarios import buyers_csv, path_of, raw_mail, report, subject, tick
from tests.aws.test_scoring_segments import put_definition

TWO_SCENARIOS = """
timezone: Asia/Tokyo
frequency_cap: {mails: 1, hours: 24}
scenarios:
  - name: welcome
    entry: {segment: first_time_buyers}
    steps:
      - {id: hello, send: thank_you}
  - name: teach
    entry: {segment: first_time_buyers}
    steps:
      - {id: lesson, send: tips}
"""


def test_two_scenarios_mailing_one_person_at_once_keep_to_one_mail_a_day(
    aws, api, streams, shop, monkeypatch
):
    assert put_definition(api, aws, "scenarios", TWO_SCENARIOS).status_code == 200
    drop_and_import(aws, api, "buyers.csv", buyers_csv("aiko@example.com"))
    streams()
    engine, store = bootstrap.runner(), bootstrap.journey_store()
    contact_id = contact_by_email(api, aws, "aiko@example.com")["contact_id"]
    places = store.places_of(contact_id)
    assert sorted(p.journey.scenario for p in places) == ["teach", "welcome"]

    # Both walks read the cap before either mail goes: the read-then-send race, made certain.
    both_read = threading.Barrier(2, timeout=10)
    read = store.mail_times

    def mail_times(who: str) -> list[float]:
        times = read(who)
        both_read.wait()
        return times

    monkeypatch.setattr(store, "mail_times", mail_times)
    walks = [threading.Thread(target=engine.walk_many, args=([p],)) for p in places]
    for walk in walks:
        walk.start()
    for walk in walks:
        walk.join()
    monkeypatch.setattr(store, "mail_times", read)  # (undo() would also drop the fixture's AWS env)

    assert len(raw_mail()) == 1
    # the one that lost waits out the cap instead of mailing now, and its timeline says so
    assert engine.tick() == {"walked": 1, "tasks": 0, "sent": 0, "held": {"frequency_cap": 1}}
    assert len(raw_mail()) == 1
    clock.travel(24 * 3600 + 120)
    engine.tick()
    assert len({subject(m) for m in raw_mail()}) == 2  # a day later, the other scenario's mail
    sent = report(api, aws, "welcome")["totals"]["sent"] + report(api, aws, "teach")["totals"]["sent"]
    assert sent == 2
    held = [e for e in timeline(api, aws, contact_id) if e["kind"] == "mail_held"]
    assert [(e["reason"], e["then"]) for e in held] == [("frequency_cap", "retry")]


def test_an_unsubscribe_overwritten_by_an_import_in_the_same_instant_still_mails_nothing(
    aws, api, streams, shop
):
    drop_and_import(aws, api, "buyers.csv", buyers_csv("aiko@example.com"))
    streams()
    tick(api, aws)
    (thanks,) = raw_mail()
    db = aws["session"].client("dynamodb")
    key = {"email": {"S": "aiko@example.com"}}
    read_by_import = db.get_item(TableName=aws["ContactsTable"], Key=key)["Item"]

    unsubscribe = thanks["List-Unsubscribe"].strip("<>")
    one_click = api.http.post(
        path_of(unsubscribe),
        body="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200
    db.put_item(TableName=aws["ContactsTable"], Item=read_by_import)  # the import writes back what it read
    assert contact_by_email(api, aws, "aiko@example.com")["status"] == "subscribed"  # as the import wrote

    clock.travel(3 * 86400)  # the tips are due
    tick(api, aws)
    assert len(raw_mail()) == 1


def test_a_tick_short_of_time_stops_between_people_and_the_next_one_goes_on(
    aws, api, streams, shop, monkeypatch
):
    from chalicelib.services import scenario_runner

    people = [f"p{n}@example.com" for n in range(5)]
    drop_and_import(aws, api, "buyers.csv", buyers_csv(*people))
    streams()
    monkeypatch.setattr(scenario_runner, "TICK_WORKERS", 1)
    real = bootstrap.mail_transport()
    out_of_time = threading.Event()

    class SendThenRunOut:
        def send_raw(self, to: str, raw: bytes) -> str:
            out_of_time.set()  # the run's clock is nearly spent once this mail has gone
            return real.send_raw(to, raw)

    bootstrap.provide(mail_transport=SendThenRunOut())
    engine = bootstrap.runner()
    walked = engine.tick(lambda: 0 if out_of_time.is_set() else 10**9)["walked"]
    assert (walked, len(raw_mail())) == (1, 1)
    bootstrap.reset()
    bootstrap.runner().tick()
    assert sorted(m["To"] for m in raw_mail()) == sorted(people)
