"""After a mail goes: unsubscribes, SES feedback (bounces, complaints, deliveries), scanners --
through the real handlers, moto behind them."""

from __future__ import annotations

import json
import re

from chalicelib import bootstrap, clock
from tests.aws.conftest import queued_bodies
from tests.aws.test_api import drop_and_import
from tests.aws.test_beacons import auth
from tests.aws.test_identity import contact_by_email
from tests.aws.test_scenarios import body, buyers_csv, path_of, raw_mail, report, step, subject, tick


# --- consent at send time, unsubscribe, feedback -----------------------------------------------------------
def test_someone_who_unsubscribed_a_second_ago_gets_nothing_even_from_a_queued_step(aws, api, streams, shop):
    drop_and_import(aws, api, "buyers.csv", buyers_csv("aiko@example.com", "ben@example.com"))
    streams()
    tick(api, aws)
    (aiko,) = [m for m in raw_mail() if m["To"] == "aiko@example.com"]
    unsubscribe = re.fullmatch(r"<(\S+)>", aiko["List-Unsubscribe"]).group(1)

    page = api.http.get(path_of(unsubscribe))  # what a link scanner does
    assert page.status_code == 200 and 'method="post"' in page.body.decode()
    assert contact_by_email(api, aws, "aiko@example.com")["status"] == "subscribed"

    one_click = api.http.post(
        path_of(unsubscribe),
        body="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200
    assert contact_by_email(api, aws, "aiko@example.com")["status"] == "unsubscribed"
    clock.travel(3 * 86400)  # tips are due for both
    tick(api, aws)
    assert [m["To"] for m in raw_mail() if subject(m).startswith("三日目")] == ["ben@example.com"]
    assert step(report(api, aws), "thanks")["unsubscribed"] == 1
    assert step(report(api, aws), "tips")["suppressed"] == 1

    # A CSV saying yes again does not undo it.
    drop_and_import(aws, api, "again.csv", buyers_csv("aiko@example.com", consent="yes"))
    assert contact_by_email(api, aws, "aiko@example.com")["status"] == "unsubscribed"
    tampered = unsubscribe[:-3] + ("AAA" if not unsubscribe.endswith("AAA") else "BBB")
    assert (
        api.http.post(path_of(tampered), body="", headers={"Content-Type": "text/plain"}).status_code == 404
    )


def ses_event(kind: str, ses_id: str, **detail) -> str:
    event = {"eventType": kind, "mail": {"messageId": ses_id, "destination": detail.pop("to", [])}, **detail}
    return json.dumps({"Type": "Notification", "Message": json.dumps(event)})


def feedback(api, bodies: list[str]) -> None:
    event = api.events.generate_sqs_event(queue_name="sodate-mail-feedback", message_bodies=bodies)
    api.lambda_.invoke("mail_feedback", event)


def test_bounces_and_complaints_suppress_once_and_soft_bounces_are_sent_again(aws, api, streams, shop):
    people = ["hard@example.com", "angry@example.com", "soft@example.com", "fine@example.com"]
    drop_and_import(aws, api, "buyers.csv", buyers_csv(*people))
    streams()
    tick(api, aws)
    store = bootstrap.journey_store()
    ses_ids = {}
    for person in people:
        contact_id = contact_by_email(api, aws, person)["contact_id"]
        ses_ids[person] = store.action(contact_id, f"{contact_id}#first_purchase#thanks#1")["ses_id"]

    hard = ses_event(
        "Bounce",
        ses_ids["hard@example.com"],
        bounce={"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "hard@example.com"}]},
    )
    angry = ses_event(
        "Complaint",
        ses_ids["angry@example.com"],
        complaint={"complainedRecipients": [{"emailAddress": "angry@example.com"}]},
    )
    soft = ses_event(
        "Bounce",
        ses_ids["soft@example.com"],
        bounce={"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": "soft@example.com"}]},
    )
    delivered = ses_event(
        "Delivery", ses_ids["fine@example.com"], delivery={"recipients": ["fine@example.com"]}
    )
    feedback(api, [delivered, hard, angry, soft])
    feedback(api, [hard, delivered, angry])  # SES repeats itself, in another order
    assert contact_by_email(api, aws, "hard@example.com")["status"] == "suppressed"
    assert contact_by_email(api, aws, "angry@example.com")["status"] == "suppressed"
    assert contact_by_email(api, aws, "soft@example.com")["status"] == "subscribed"
    thanks = step(report(api, aws), "thanks")
    assert (thanks["bounced"], thanks["complained"], thanks["delivered"]) == (1, 1, 1)

    clock.travel(3600 + 60)
    tick(api, aws)
    again = [m["To"] for m in raw_mail()[len(people) :]]
    assert again == ["soft@example.com"]  # resent once, an hour later
    # A suppressed address, erased and imported again, stays out.
    hard_id = contact_by_email(api, aws, "hard@example.com")["contact_id"]
    assert api.http.delete(f"/admin/contacts/{hard_id}", headers=auth(aws)).status_code == 200
    result = drop_and_import(aws, api, "again.csv", buyers_csv("hard@example.com"))
    assert result["created"] == 0 and result["rejected"] == 1


def test_a_scanner_click_goes_to_the_link_but_is_not_counted_or_identified(aws, api, streams, shop):
    drop_and_import(aws, api, "buyers.csv", buyers_csv("aiko@example.com"))
    streams()
    tick(api, aws)
    link = re.search(r'href="([^"]+/c/[^"]+)"', body(raw_mail()[0])).group(1)
    scanner = api.http.get(path_of(link), headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0)"})
    assert scanner.headers["Location"] == "https://shop.example.jp/guide"  # seconds after sending
    clock.travel(120)
    bot = api.http.get(path_of(link), headers={"User-Agent": "Barracuda Sentinel (EE)"})
    assert bot.headers["Location"] == "https://shop.example.jp/guide"
    assert "clicked" not in step(report(api, aws), "thanks")
    person = api.http.get(path_of(link), headers={"User-Agent": "Mozilla/5.0 (iPhone) Mobile Safari"})
    assert person.headers["Location"].startswith("https://shop.example.jp/guide?sodate_t=")
    assert step(report(api, aws), "thanks")["clicked"] == 1
    forged = link.replace("/c/", "/c/x")
    assert api.http.get(path_of(forged)).status_code == 404


# --- timing ---------------------------------------------------------------------------------------


def test_a_feedback_body_nobody_can_read_is_parked_and_the_bounce_beside_it_still_suppresses(
    aws, api, streams, shop
):
    # GIVEN a mail that bounced for good, and a message on the queue that is not SES's at all
    drop_and_import(aws, api, "buyers.csv", buyers_csv("hard@example.com"))
    streams()
    tick(api, aws)
    contact_id = contact_by_email(api, aws, "hard@example.com")["contact_id"]
    ses_id = bootstrap.journey_store().action(contact_id, f"{contact_id}#first_purchase#thanks#1")["ses_id"]
    hard = ses_event(
        "Bounce",
        ses_id,
        bounce={"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "hard@example.com"}]},
    )

    # WHEN both arrive in one batch (the handler does not fail the batch)
    feedback(api, ["<html>not json</html>", hard, '["a list, not an event"]'])

    # THEN the bounce did its work, once
    assert contact_by_email(api, aws, "hard@example.com")["status"] == "suppressed"
    assert step(report(api, aws), "thanks")["bounced"] == 1
    # and the two unreadable bodies wait on the dead-letter queue with what was wrong
    parked = [
        json.loads(b) for b in queued_bodies(aws["session"].client("sqs"), aws["ImportDeadLetterQueueUrl"])
    ]
    assert sorted(p["payload"]["body"] for p in parked) == sorted(
        ['["a list, not an event"]', "<html>not json</html>"]
    )
    assert {p["handler"] for p in parked} == {"mail_feedback"}
    assert all("not an SES event" in p["error"] for p in parked)
