"""The open pixel (`/o/<token>`) through the real handlers, moto behind them: a person's open is
counted once per mail; opens in the first seconds after sending and by scanners are recorded as
machine traffic and never counted; and a scenario branches on whether its mail was opened."""

from __future__ import annotations

import re

import pytest

from chalicelib import bootstrap, clock
from tests.aws.test_api import drop_and_import
from tests.aws.test_identity import contact_by_email, timeline
from tests.aws.test_scenarios import body, buyers_csv, path_of, raw_mail, report, step, subject, tick
from tests.aws.test_scoring_segments import put_definition

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
SCANNER = "Barracuda Sentinel (EE)"
IMAGES = "image/webp,image/avif,image/*,*/*;q=0.8"  # what a mail client asks for when it loads images
READING = """timezone: Asia/Tokyo
scenarios:
  - name: reading
    entry: {segment: first_time_buyers}
    steps:
      - {id: thanks, send: thank_you}
      - {id: a_day, wait: {days: 1}}
      - id: read_it
        branch: {if: {opened: thanks}, then: tips_next, else: coupon_next}
      - {id: tips_next, send: tips, next: done}
      - {id: coupon_next, send: coupon, next: done}
      - {id: done, exit: true}
"""


@pytest.fixture
def thanked(aws, api, streams, shop):
    """First-time buyers thanked by the `reading` scenario; call it with their addresses."""

    def thank(*addresses: str) -> None:
        assert put_definition(api, aws, "scenarios", READING).status_code == 200
        assert drop_and_import(aws, api, "buyers.csv", buyers_csv(*addresses))["created"] == len(addresses)
        streams()
        tick(api, aws)
        assert sorted(m["To"] for m in raw_mail()) == sorted(addresses)

    return thank


def pixel_of(address: str) -> str:
    """The open pixel's path in the HTML of the mail this person was sent."""
    (mail,) = [m for m in raw_mail() if m["To"] == address]
    found = re.search(r'<img src="([^"]+/o/[^"]+)" width="1" height="1"', body(mail))
    assert found, "no open pixel in the mail"
    return path_of(found.group(1))


def load_pixel(api, path: str, agent: str = BROWSER, accept: str | None = IMAGES):
    answer = api.http.get(path, headers={"User-Agent": agent, **({"Accept": accept} if accept else {})})
    assert answer.status_code == 200, answer.body
    assert answer.headers["Content-Type"] == "image/gif" and answer.body.startswith(b"GIF89a")
    assert answer.headers["Cache-Control"] == "no-store"  # every open reaches us
    return answer


def thanks_figures(api, aws) -> dict:
    return step(report(api, aws, "reading"), "thanks")


def opens_on_timeline(api, aws, address: str) -> list[dict]:
    contact_id = contact_by_email(api, aws, address)["contact_id"]
    return [e for e in timeline(api, aws, contact_id) if e["kind"] == "email_open"]


# --- counting -------------------------------------------------------------------------------------
def test_an_open_by_a_person_is_counted_once_however_often_the_pixel_is_loaded(aws, api, thanked):
    # GIVEN Aiko and Ben were thanked by mail
    thanked("aiko@example.com", "ben@example.com")
    pixel = pixel_of("aiko@example.com")

    # WHEN Aiko reads it a minute later, and twice more that hour
    for _ in range(3):
        clock.travel(60)
        load_pixel(api, pixel)

    # THEN the report counts one open of two mails sent
    figures = thanks_figures(api, aws)
    assert (figures["sent"], figures["opened"], figures["open_rate"]) == (2, 1, 0.5)
    assert report(api, aws, "reading")["totals"]["opened"] == 1
    # AND her timeline shows every open, as a person's
    opens = opens_on_timeline(api, aws, "aiko@example.com")
    assert len(opens) == 3 and not any("bot" in e for e in opens)
    assert opens_on_timeline(api, aws, "ben@example.com") == []


def test_a_mail_client_that_asks_for_no_image_type_still_gets_the_gif_and_the_open_counts(aws, api, thanked):
    thanked("aiko@example.com")
    pixel = pixel_of("aiko@example.com")
    clock.travel(60)
    load_pixel(api, pixel, accept=None)  # some image proxies send no Accept at all
    load_pixel(api, pixel, accept="text/html")
    assert thanks_figures(api, aws)["opened"] == 1
    assert len(opens_on_timeline(api, aws, "aiko@example.com")) == 2


def test_opens_in_the_first_seconds_and_by_scanners_are_recorded_as_machines_and_not_counted(
    aws, api, thanked
):
    # GIVEN Aiko was thanked by mail
    thanked("aiko@example.com")
    pixel = pixel_of("aiko@example.com")

    # WHEN the pixel is loaded at once (a proxy fetching images as the mail arrives),
    load_pixel(api, pixel)
    # by a mail scanner two minutes later, and through a token nobody signed
    clock.travel(120)
    load_pixel(api, pixel, agent=SCANNER)
    load_pixel(api, pixel.replace("/o/", "/o/x"))

    # THEN no open is counted, and the timeline says why
    assert "opened" not in thanks_figures(api, aws)
    reasons = sorted(e.get("bot", "") for e in opens_on_timeline(api, aws, "aiko@example.com"))
    assert reasons == ["too_soon_after_sending", "user_agent:barracuda"]

    # AND when she opens it herself, that open is the one counted
    clock.travel(60)
    load_pixel(api, pixel)
    assert thanks_figures(api, aws)["opened"] == 1


def test_an_open_counts_as_a_persons_only_from_ten_seconds_after_sending(aws, api, thanked):
    # GIVEN Aiko was thanked by mail
    thanked("aiko@example.com")
    pixel = pixel_of("aiko@example.com")

    # WHEN a browser loads the pixel 7 seconds after sending, then 12 seconds after
    clock.travel(7)
    load_pixel(api, pixel)
    assert "opened" not in thanks_figures(api, aws)
    clock.travel(5)
    load_pixel(api, pixel)

    # THEN only the second is counted
    assert thanks_figures(api, aws)["opened"] == 1
    reasons = [e.get("bot", "") for e in opens_on_timeline(api, aws, "aiko@example.com")]
    assert sorted(reasons) == ["", "too_soon_after_sending"]


# --- branching on an open ---------------------------------------------------------------------------
def test_the_opened_branch_sends_readers_one_way_and_everyone_else_the_other(aws, api, thanked):
    # GIVEN three buyers thanked by mail
    thanked("aiko@example.com", "ben@example.com", "carl@example.com")

    # WHEN Aiko opens hers, a scanner loads Ben's images, and Carl clicks his link (images off)
    clock.travel(600)
    load_pixel(api, pixel_of("aiko@example.com"))
    load_pixel(api, pixel_of("ben@example.com"), agent=SCANNER)
    (carl_mail,) = [m for m in raw_mail() if m["To"] == "carl@example.com"]
    link = re.search(r'href="([^"]+/c/[^"]+)"', body(carl_mail)).group(1)
    assert api.http.get(path_of(link), headers={"User-Agent": BROWSER}).status_code == 302
    # AND the day's wait ends
    clock.travel(86400)
    tick(api, aws)

    # THEN the readers get the tips (the "then" step), Ben the coupon (the "else" step)
    nexts = {m["To"]: subject(m) for m in raw_mail()[3:]}
    assert nexts == {
        "aiko@example.com": "三日目のお茶のコツ / Tea tips for day three",
        "carl@example.com": "三日目のお茶のコツ / Tea tips for day three",
        "ben@example.com": "10% OFF クーポン / A coupon for your next order",
    }
    rep = report(api, aws, "reading")
    assert step(rep, "thanks")["opened"] == 2  # a click is an open; a scanner's is not
    assert (step(rep, "tips_next")["sent"], step(rep, "coupon_next")["sent"]) == (2, 1)
    for address in ("aiko@example.com", "ben@example.com", "carl@example.com"):
        contact_id = contact_by_email(api, aws, address)["contact_id"]
        (place,) = bootstrap.journey_store().places_of(contact_id)
        assert (place.status, place.journey.step) == ("exited", "done")
