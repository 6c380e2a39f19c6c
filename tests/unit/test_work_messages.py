import json
from datetime import date

import pytest

from chalicelib.domain.queue_messages import continuation, date_pass
from chalicelib.web.work_messages import (
    ContinueImport,
    DatePassOn,
    PoisonMessageError,
    parse_work_message,
)


def s3_event(key: str, **extra) -> str:
    return json.dumps(
        {
            "Records": [
                {
                    "eventName": "ObjectCreated:Put",
                    "eventTime": "2026-11-23T00:00:00.000Z",
                    "s3": {
                        "bucket": {"name": "b"},
                        "object": {"key": key, "size": 12, "eTag": "abc", **extra},
                    },
                }
            ]
        }
    )


def test_s3_keys_arrive_url_encoded():
    (created,) = parse_work_message(s3_event("imports/%E9%A1%A7%E5%AE%A2+list.csv", sequencer="0A1"))
    assert created.key == "imports/顧客 list.csv" and created.sequencer == "0A1" and created.size == 12


def test_two_uploads_of_the_same_bytes_are_two_imports_one_event_twice_is_one():
    first = parse_work_message(s3_event("imports/a.csv", sequencer="01"))[0]
    again = parse_work_message(s3_event("imports/a.csv", sequencer="01"))[0]
    second = parse_work_message(s3_event("imports/a.csv", sequencer="02"))[0]
    assert first.import_id == again.import_id != second.import_id


def test_s3s_test_event_and_continuations():
    assert parse_work_message(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})) == []
    body = continuation("x1")
    assert parse_work_message(body) == ContinueImport("x1")
    start = {"email": {"S": "aiko@example.com"}}
    assert parse_work_message(date_pass("2026-11-23", start)) == DatePassOn(date(2026, 11, 23), start)


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        '{"Records": "no"}',
        '{"Records": [{"eventName": "ObjectCreated:Put"}]}',
        '{"type": "sodate.date-pass", "day": "someday", "start": {}}',
    ],
)
def test_poison_messages_are_named_as_such(body):
    with pytest.raises(PoisonMessageError):
        parse_work_message(body)
