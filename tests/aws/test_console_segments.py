"""A segment's page over moto: its size by day, worked back from the size now and the counted
entries and exits the events stream delivered; its rule as written; an export with a link
that downloads it."""

from __future__ import annotations

from urllib.parse import quote

import requests

from tests.aws.test_api import drop_and_import
from tests.aws.test_console_auth import session
from tests.aws.test_scoring_segments import EXAMPLES, put_definition

YES = "email,consent\nhanako@example.jp,yes\ntaro@example.jp,yes\njiro@example.jp,yes\n"
TARO_NO = "email,consent\ntaro@example.jp,no\n"


def test_a_segments_size_by_day_rule_members_and_export(aws, api, people, shop, streams):
    # GIVEN three people who said yes (mailable), and then one who said no
    assert drop_and_import(aws, api, "yes.csv", YES.encode())["created"] == 3
    streams()
    assert drop_and_import(aws, api, "no.csv", TARO_NO.encode())["updated"] == 1
    streams()
    analyst, marketer = session(api, people["analyst"]), session(api, people["marketer"])

    # WHEN an analyst reads the mailable segment's last week
    answer = api.http.get("/admin/segments/mailable/history?range=7d", headers=analyst)

    # THEN today it has two; three joined and one left today, and before today nobody was in it
    assert answer.status_code == 200, answer.body
    history = answer.json_body
    assert (history["size"], history["sizes"][-1]) == (2, 2)
    assert (history["entered"][-1], history["left"][-1]) == (3, 1)
    assert history["sizes"][:-1] == [0] * 6 and len(history["days"]) == 7
    assert history["rule"].startswith("name: mailable") and "field: status" in history["rule"]
    handed_over = streams.batches
    for handler, event in handed_over:  # Lambda hands the same batches over again: no change
        handler(event, None)
    again = api.http.get("/admin/segments/mailable/history?range=7d", headers=analyst).json_body
    assert (again["entered"][-1], again["left"][-1]) == (3, 1)

    members = api.http.get("/admin/segments/mailable/members", headers=analyst).json_body["members"]
    assert sorted(m["email"] for m in members) == ["hanako@example.jp", "jiro@example.jp"]
    assert api.http.post("/admin/segments/mailable/export", headers=analyst).status_code == 403
    export = api.http.post("/admin/segments/mailable/export", headers=marketer)
    assert export.status_code == 201 and export.json_body["rows"] == 2
    downloaded = requests.get(export.json_body["download"], timeout=10)
    assert downloaded.status_code == 200 and "jiro@example.jp" in downloaded.content.decode("utf-8-sig")


def test_a_segments_history_refuses_what_it_cannot_answer(aws, api, people, shop):
    analyst = session(api, people["analyst"])

    assert api.http.get("/admin/segments/nope/history", headers=analyst).status_code == 404
    bad = api.http.get("/admin/segments/mailable/history?range=5y", headers=analyst)
    assert bad.status_code == 400 and "range must be one of" in bad.json_body["Message"]
    assert api.http.get("/admin/segments/mailable/history").status_code == 401


def test_a_segment_named_in_japanese_is_reached_at_its_encoded_address(aws, api, people, shop, streams):
    # GIVEN a segment named as a Japanese marketer names it, with one person in it
    segments = (
        EXAMPLES / "segments.yaml"
    ).read_text() + "  - name: 新規客\n    rule: {field: status, eq: subscribed}\n"
    assert put_definition(api, aws, "segments", segments).status_code == 200
    assert drop_and_import(aws, api, "yes.csv", YES.encode())["created"] == 3
    streams()
    analyst, marketer = session(api, people["analyst"]), session(api, people["marketer"])
    address = f"/admin/segments/{quote('新規客')}"  # as the console's links and any browser send it

    # WHEN its members, history and export are asked for THEN they are the segment's
    members = api.http.get(f"{address}/members", headers=analyst)
    assert members.status_code == 200, members.body
    assert len(members.json_body["members"]) == 3
    assert api.http.get(f"{address}/history?range=7d", headers=analyst).json_body["size"] == 3
    assert api.http.post(f"{address}/export", headers=marketer).json_body["rows"] == 3
    assert api.http.get(f"/admin/segments/{quote('新規')}/members", headers=analyst).status_code == 404
