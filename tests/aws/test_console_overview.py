"""The console's overview through the real handlers: imports, hits and identification go down
the streams, the counters keep up, and the overview reads them -- the same figures however often
Lambda hands a stream batch over, and a refusal for a bad range or no session."""

from __future__ import annotations

import gzip
from typing import Any

from tests.aws.test_api import drop_and_import
from tests.aws.test_beacons import auth, send
from tests.aws.test_console_auth import session
from tests.aws.test_identity import pageview
from tests.aws.test_scoring_segments import identify, load_examples, report_purchase

CSV = (
    "email,name,consent\n"
    "hanako@example.jp,山田 花子,yes\n"
    "taro@example.jp,鈴木 太郎,\n"
    "jiro@example.jp,佐藤 次郎,yes\n"
).encode()


def overview(api: Any, headers: dict[str, str], query: str = "range=today") -> dict[str, Any]:
    answer = api.http.get(f"/console/api/overview?{query}", headers=headers)
    assert answer.status_code == 200, answer.body
    assert answer.headers["Cache-Control"] == "no-store"
    body: dict[str, Any] = answer.json_body
    return body


def test_the_overview_counts_contacts_visits_and_revenue_once(aws, api, site, people, streams):
    # GIVEN the example definitions, three people imported (two said yes to mail), visitors
    load_examples(aws, api)
    report = drop_and_import(aws, api, "people.csv", CSV)
    assert report["created"] == 3, report
    for path in ("/", "/pricing"):
        assert send(api, pageview(site, "device-anon-01", path)).status_code == 204
    assert send(api, pageview(site, "device-hanako", "/")).status_code == 204  # before she is known
    streams()
    identify(api, site, "device-hanako", "hanako@example.jp")  # her history moves to her
    assert send(api, pageview(site, "device-hanako", "/tea")).status_code == 204
    bought = {**pageview(site, "device-hanako", "/thanks"), "k": "conversion", "n": "purchase", "a": 1200}
    assert send(api, {**bought, "p": {"order_id": "A-1"}}).status_code == 204
    order = {"email": "hanako@example.jp", "order_id": "A-1", "total": 1200}  # the shop's server too
    assert report_purchase(api, site, order).status_code == 200
    robot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    assert send(api, pageview(site, "device-robot", "/"), agent=robot).status_code == 204
    streams()

    # WHEN an analyst opens the overview for today
    analyst = session(api, people["analyst"])
    seen = overview(api, analyst)

    # THEN the people are counted by consent, and every human page view once, by who made it
    assert seen["contacts"] == 3
    assert seen["consent"] == {"subscribed": 2, "pending": 1, "unsubscribed": 0, "suppressed": 0}
    assert sum(seen["grades"].values()) == 3, "everyone has a grade once evaluated"
    totals = seen["totals"]
    assert totals["pageviews_anonymous"] == 3, "two anonymous views and hanako's one before she was known"
    assert totals["pageviews_known"] == 1, "the moved history is not counted again; the robot not at all"
    assert (totals["conversions"], totals["revenue"]) == (1, 1200), "one order, told twice"
    assert seen["days"] == [seen["today"]] and seen["series"]["conversions"] == [1]

    # AND Lambda handing every batch over again changes nothing
    from devstack.pump import LambdaContext

    for handler, event in streams.batches:
        handler(event, LambdaContext("again"))
    assert overview(api, analyst) == seen

    # AND an erased person leaves the counts
    gone = api.http.get("/admin/contacts?email=taro@example.jp", headers=auth(aws)).json_body["contact_id"]
    assert api.http.delete(f"/admin/contacts/{gone}", headers=auth(aws)).status_code in (200, 204)
    streams()
    after = overview(api, analyst)
    assert after["contacts"] == 2 and after["consent"]["pending"] == 0


def test_a_range_is_checked_and_the_overview_needs_a_session(aws, api, people):
    analyst = session(api, people["analyst"])
    assert api.http.get("/console/api/overview").status_code == 401
    week = overview(api, analyst, "range=7d")
    assert len(week["days"]) == 7 and week["days"][-1] == week["today"]
    custom = overview(api, analyst, "from=2026-01-30&to=2026-02-02")
    assert custom["days"] == ["2026-01-30", "2026-01-31", "2026-02-01", "2026-02-02"]
    assert custom["series"]["mail_sent"] == [0, 0, 0, 0] and custom["rates"]["complained"] == 0
    for query, problem in (
        ("range=1y", "range must be one of"),
        ("from=2026-02-02&to=2026-01-30", "to comes before from"),
        ("from=2026-02-30&to=2026-03-01", "not a day of the calendar"),
        ("from=2024-01-01&to=2026-01-01", "at most 366 days"),
        ("from=yesterday&to=2026-01-01", "YYYY-MM-DD"),
    ):
        refused = api.http.get(f"/console/api/overview?{query}", headers=analyst)
        assert refused.status_code == 400 and problem in refused.json_body["Message"], (query, refused.body)


def test_the_console_page_loads_its_own_script_and_style_only(aws, api, people):
    analyst = session(api, people["analyst"])
    page = api.http.get("/console?lang=en&range=30d", headers=analyst)
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "unsafe" not in policy
    assert page.headers["Referrer-Policy"] == "same-origin", "else a form's post says Origin: null"
    html = page.body.decode()
    assert 'data-page="overview"' in html and 'aria-current="true">30 days<' in html
    script = html.split('<script defer src="console/static/')[1].split('"')[0]

    zipped = api.http.get(f"/console/static/{script}", headers={"Accept-Encoding": "gzip, br"})
    assert zipped.status_code == 200 and zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    plain = api.http.get(f"/console/static/{script}")
    assert "Content-Encoding" not in plain.headers and gzip.decompress(zipped.body) == plain.body
    assert plain.headers["Content-Type"].startswith("application/javascript")
    for name in ("manifest.json", "console-000000000000.js", script + ".gz", "..%2Fapp.py"):
        assert api.http.get(f"/console/static/{name}").status_code == 404, name
    assert api.http.get("/console/static/../app.py").status_code in (403, 404)

    assert api.http.get("/console").status_code == 303, "no session: to the door"


def test_the_contacts_page_is_for_signed_in_people_and_says_what_they_may_do(aws, api, people):
    door = api.http.get("/console/contacts?lang=en")
    assert door.status_code == 303 and door.headers["Location"] == "sign-in?lang=en"
    for role in ("analyst", "admin"):
        page = api.http.get("/console/contacts?id=c-1", headers=session(api, people[role]))
        html = page.body.decode()
        assert page.status_code == 200 and f'data-role="{role}"' in html and 'data-root="../"' in html
        assert 'src="../console/static/console-' in html and 'action="../console/sign-out' in html
    analyst = session(api, people["analyst"])
    refused = api.http.delete("/admin/contacts/c-1", headers=analyst)
    assert refused.status_code == 403, "erasure is an admin's, whatever the page shows"


def test_a_grid_cell_opens_its_people_and_a_name_finds_its_person(aws, api, people, streams):
    # GIVEN three people imported and evaluated
    load_examples(aws, api)
    assert drop_and_import(aws, api, "people.csv", CSV)["created"] == 3
    streams()
    analyst = session(api, people["analyst"])
    grades = {cell: n for cell, n in overview(api, analyst)["grades"].items() if n}

    # WHEN an analyst opens each counted cell, two people a page
    listed: list[str] = []
    for cell, counted in grades.items():
        cursor, in_cell = "", []
        while True:
            answer = api.http.get(f"/admin/contacts?cell=grade:{cell}&limit=2{cursor}", headers=analyst)
            assert answer.status_code == 200, answer.body
            in_cell += [row["email"] for row in answer.json_body["contacts"]]
            if not answer.json_body["next_cursor"]:
                break
            cursor = f"&cursor={answer.json_body['next_cursor']}"
        # THEN each cell lists as many people as its gauge counts
        assert len(in_cell) == counted, (cell, in_cell)
        listed += in_cell
    assert sorted(listed) == ["hanako@example.jp", "jiro@example.jp", "taro@example.jp"]

    # AND a name's start finds its person, in any width; a bad cell or cursor is a 400
    def named(typed: str) -> list[str]:
        answer = api.http.get(f"/admin/contacts?name={typed}", headers=analyst)
        assert answer.status_code == 200, answer.body
        return [row["email"] for row in answer.json_body["contacts"]]

    assert named("山田") == ["hanako@example.jp"] and named("花子") == ["hanako@example.jp"]
    assert named("%E9%88%B4%E6%9C%A8") == ["taro@example.jp"]  # 鈴木, as a browser sends it
    for query in ("cell=grade:Z9", "cell=rfm:66", "cell=grade:A1&cursor=bm90LWEtY3Vyc29y"):
        answer = api.http.get(f"/admin/contacts?{query}", headers=analyst)
        assert answer.status_code == 400 and answer.json_body["Message"], query

    # AND once erased, a person is found nowhere
    gone = api.http.get("/admin/contacts?email=hanako@example.jp", headers=auth(aws)).json_body["contact_id"]
    assert api.http.delete(f"/admin/contacts/{gone}", headers=auth(aws)).status_code in (200, 204)
    streams()
    assert named("山田") == []
