"""Scenarios entered on a date (the example `birthday`): the daily pass, moto behind it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from chalicelib import bootstrap, clock
from chalicelib.services import scenario_dates
from tests.aws.conftest import queued_bodies
from tests.aws.test_api import drop_and_import
from tests.aws.test_beacons import auth
from tests.aws.test_identity import contact_by_email, timeline
from tests.aws.test_scenarios import TOKYO, raw_mail, subject, tick, to_tokyo_hour


def people_csv(**birthdays: date) -> bytes:
    rows = "".join(
        f"{name}@example.com,{name.title()},yes,{day.isoformat()}\n" for name, day in birthdays.items()
    )
    return ("email,name,consent,誕生日\n" + rows).encode()


def dates_job(api, aws) -> dict:
    answer = api.http.post("/admin/jobs/dates", headers=auth(aws))
    assert answer.status_code == 200, answer.body
    return answer.json_body


def tokyo_today() -> date:
    return datetime.fromtimestamp(clock.now(), TOKYO).date()


def birthday_mail() -> list[str]:
    return [m["To"] for m in raw_mail() if "お誕生日" in subject(m)]


def test_a_birthday_is_entered_once_at_local_midnight_and_mailed_when_the_window_opens(
    aws, api, streams, shop
):
    tomorrow = tokyo_today() + timedelta(days=1)  # 10:00 in Tokyo: tomorrow begins within today's UTC day
    drop_and_import(
        aws,
        api,
        "people.csv",
        people_csv(aiko=tomorrow.replace(year=1990), ben=(tomorrow + timedelta(days=2)).replace(year=1985)),
    )
    streams()

    first_pass = dates_job(api, aws)
    assert first_pass["entered"] == 1
    assert dates_job(api, aws)["entered"] == 0  # the same day's pass again enters nobody
    aiko = contact_by_email(api, aws, "aiko@example.com")
    entered = [h for h in timeline(api, aws, aiko["contact_id"]) if h["kind"] == "scenario_enter"]
    assert [(h["name"], h["at"][:16]) for h in entered] == [
        ("birthday", datetime.combine(tomorrow, datetime.min.time(), TOKYO).astimezone(UTC).isoformat()[:16])
    ]

    tick(api, aws)
    assert birthday_mail() == []  # not yet their birthday in Tokyo
    to_tokyo_hour(8)
    tick(api, aws)
    assert birthday_mail() == []  # their birthday, but the window opens at nine
    to_tokyo_hour(9)
    tick(api, aws)
    assert birthday_mail() == ["aiko@example.com"]
    # That day's pass delivered again after the journey ended (a work-queue retry): nobody enters.
    assert bootstrap.work().date_pass(date.fromisoformat(first_pass["day"]), None, lambda: 10**9) == 0

    # A year later, the day before: entered again (entry 2) and mailed again; ben never was.
    next_year = tomorrow.replace(year=tomorrow.year + 1)
    to_tokyo_hour(10)
    while tokyo_today() < next_year - timedelta(days=1):
        clock.travel(86400)
    assert dates_job(api, aws)["entered"] == 1
    to_tokyo_hour(9)
    tick(api, aws)
    assert birthday_mail() == ["aiko@example.com", "aiko@example.com"]
    assert all(m["To"] != "ben@example.com" for m in raw_mail())


def test_the_daily_pass_goes_on_through_the_work_queue_when_its_run_ends(
    aws, api, streams, shop, monkeypatch
):
    monkeypatch.setattr(scenario_dates, "PAGE", 2)  # a page per run: the test client's runs are 3 s
    tomorrow = tokyo_today() + timedelta(days=1)
    names = ["aiko", "ben", "chika", "daiki", "emi"]
    drop_and_import(
        aws,
        api,
        "people.csv",
        people_csv(**{n: tomorrow.replace(year=1990 + i) for i, n in enumerate(names)}),
    )
    streams()

    api.lambda_.invoke("dates", api.events.generate_cw_event("aws.events", "Scheduled Event", {}, []))
    sqs = aws["session"].client("sqs")
    runs = 1
    while bodies := queued_bodies(sqs, aws["ImportQueueUrl"]):
        for body in bodies:
            event = api.events.generate_sqs_event(queue_name="sodate-imports", message_bodies=[body])
            api.lambda_.invoke("import_file", event)
            runs += 1
    assert runs >= 3
    to_tokyo_hour(9)
    tick(api, aws)
    assert sorted(birthday_mail()) == [f"{n}@example.com" for n in names]
