"""Every queue and stream handler against generated junk records: the handler returns (a raised
batch would be retried for ever and hold back its neighbours), each record it cannot read is
parked on the dead-letter queue with the reason, and a healthy neighbour still takes effect."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import bootstrap
from tests.aws.conftest import queued_bodies

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

_text = st.one_of(
    st.text(max_size=30), st.sampled_from(["", "c-1", "2026-13-45T25:61", "NaN", "1e400", "-0"])
)
_attribute = st.recursive(
    st.one_of(
        _text.map(lambda t: {"S": t}),
        _text.map(lambda t: {"N": t}),  # numbers that are not numbers
        st.booleans().map(lambda b: {"BOOL": b}),
        st.just({"NULL": True}),
        st.sampled_from([{"S": 5}, {"X": "1"}, {}, {"S": "a", "N": "1"}, {"SS": []}]),  # shapes nobody writes
    ),
    lambda inner: st.one_of(
        st.dictionaries(_text, inner, max_size=3).map(lambda m: {"M": m}),
        st.lists(inner, max_size=3).map(lambda items: {"L": items}),
    ),
    max_leaves=6,
)
_keys = st.sampled_from(["c#c-1", "c#", "v#s_x#v-1", "v#", "x", "", "c#c-1#extra", "site#s_x"])
_image = st.fixed_dictionaries(
    {"pk": _keys.map(lambda k: {"S": k}), "sk": _text.map(lambda t: {"S": t})},
    optional={
        name: _attribute
        for name in (
            "kind",
            "at",
            "path",
            "email",
            "status",
            "scores",
            "attrs",
            "contact_id",
            "amount",
            "items",
        )
    },
)
_records = st.lists(
    st.tuples(
        st.sampled_from(["INSERT", "MODIFY", "REMOVE", "EXPLODE"]), _image, st.one_of(st.none(), _image)
    ),
    min_size=1,
    max_size=4,
)


def _stream_event(
    records: list[tuple[str, dict[str, Any], dict[str, Any] | None]], arn: str
) -> dict[str, Any]:
    out = []
    for n, (name, new, old) in enumerate(records):
        change: dict[str, Any] = {"Keys": {"pk": new["pk"], "sk": new["sk"]}, "SequenceNumber": str(n + 1)}
        change["StreamViewType"] = "NEW_AND_OLD_IMAGES"
        if name != "REMOVE":
            change["NewImage"] = new
        if old is not None:
            change["OldImage"] = old
        out.append({"eventID": str(n), "eventName": name, "eventSource": "aws:dynamodb", "dynamodb": change})
        out[-1]["eventSourceARN"] = arn
    return {"Records": out}


def _parked(aws: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        json.loads(b) for b in queued_bodies(aws["session"].client("sqs"), aws["ImportDeadLetterQueueUrl"])
    ]


@FUZZ
@given(records=_records, handler=st.sampled_from(["events_changed", "contacts_changed"]))
def test_junk_stream_records_are_parked_with_a_reason_and_the_batch_goes_on(aws, api, records, handler):
    _parked(aws)  # what an earlier example left
    arn = aws["EventsStreamArn"] if handler == "events_changed" else aws["ContactsStreamArn"]
    api.lambda_.invoke(handler, _stream_event(records, arn))  # raises on failure: that is the test
    parked = _parked(aws)
    assert len(parked) <= len(records)
    assert all(p["handler"] == handler and p["error"] for p in parked), parked


_bodies = st.one_of(
    st.text(max_size=200),
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), _text),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(
                st.sampled_from(
                    ["Type", "Message", "eventType", "mail", "bounce", "Records", "s3", "kind", "key"]
                ),
                inner,
                max_size=4,
            ),
        ),
        max_leaves=10,
    ).map(json.dumps),
    st.sampled_from(
        [
            json.dumps({"Type": "Notification", "Message": "{not json"}),
            json.dumps({"eventType": "Bounce", "mail": {"messageId": 7}, "bounce": "hard"}),
            json.dumps({"Records": [{"s3": {"bucket": {"name": 1}, "object": {"key": None}}}]}),
            json.dumps({"kind": "continue_import", "key": ["x"]}),
        ]
    ),
)


@FUZZ
@given(bodies=st.lists(_bodies, min_size=1, max_size=4))
def test_junk_queue_messages_are_parked_with_a_reason_beside_a_bounce_that_still_suppresses(aws, api, bodies):
    bounce = {
        "eventType": "Bounce",
        "mail": {"messageId": "ses-unknown", "destination": ["gone@example.com"]},
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "gone@example.com"}]},
    }
    _parked(aws)  # what an earlier example left
    feedback = [*bodies, json.dumps(bounce)]
    api.lambda_.invoke(
        "mail_feedback",
        api.events.generate_sqs_event(queue_name="sodate-mail-feedback", message_bodies=feedback),
    )
    api.lambda_.invoke(
        "import_file", api.events.generate_sqs_event(queue_name="sodate-imports", message_bodies=bodies[:1])
    )

    parked = _parked(aws)
    assert len(parked) <= len(bodies) + 1
    assert all(p["handler"] in ("mail_feedback", "work_queue") and p["error"] for p in parked), parked
    assert not any("gone@example.com" in json.dumps(p["payload"]) for p in parked), (
        "the bounce was not parked"
    )
    assert bootstrap.contact_directory().is_suppressed("gone@example.com"), (
        "the bounce beside them did its work"
    )
