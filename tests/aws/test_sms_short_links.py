"""A text's short links over moto, through the composition root's messenger and the API: a click
on `/s/<code>` redirects and counts as the signed click does; a code that is not ours (unknown,
expired, malformed) gets the not-found page, never a 500."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib import bootstrap, clock
from chalicelib.domain.sms_text import size
from chalicelib.services.mailer import LINK_DAYS
from tests.aws.conftest import PUBLIC_URL
from tests.aws.test_line_sms import Channels, sms_sent
from tests.aws.test_scenarios import to_tokyo_hour

SHOP = "https://shop.example.jp/new-tea?from=sms"
SCENARIOS = f"""
timezone: Asia/Tokyo
frequency_cap: {{mails: 2, hours: 24}}
scenarios:
  - name: hello
    entry: {{event: purchase}}
    steps:
      - id: hi
        send: thank_you
        channels: [sms, email]
        sms: "{{{{ name | default('お客様') }}}}様 新茶が入りました。ご注文はこちら {SHOP} 日曜まで送料無料"
      - {{id: bye, exit: true}}
"""
BROWSER = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15"}


@pytest.fixture
def texts(aws: dict[str, Any], tmp_path: Path) -> Iterator[Channels]:
    clock.reset()
    to_tokyo_hour(10)
    world = Channels(aws, tmp_path, None, SCENARIOS)
    yield world
    world.stop()
    clock.reset()


def sent_code(texts: Channels) -> str:
    texts.person(1, phone="090-1234-5678", sms_permission="granted")
    assert bootstrap.runner().tick()["sent"] == 1
    ((number, text),) = sms_sent()
    (code,) = re.findall(rf"{re.escape(PUBLIC_URL)}/s/([0-9A-Za-z]{{10}}) ", text)
    assert number == "+819012345678" and size(text).parts == 2  # the signed token took four
    return str(code)


def test_a_click_on_a_texts_short_link_redirects_and_is_counted_once(texts: Channels, api: Any) -> None:
    code = sent_code(texts)
    clock.travel(60)  # a person, not a scanner seconds after sending
    answer = api.http.get(f"/s/{code}", headers=BROWSER)
    assert answer.status_code == 302 and answer.headers["Location"] == SHOP
    assert "no-store" in answer.headers["Cache-Control"]
    assert api.http.get(f"/s/{code}", headers=BROWSER).status_code == 302
    assert texts.counters()["sms_clicked"] == texts.counters()["clicked"] == 1
    assert texts.ledger("c001")["clicked_at"]


def test_a_head_request_redirects_but_counts_nothing(texts: Channels, api: Any) -> None:
    code = sent_code(texts)
    clock.travel(60)
    assert api.http.head(f"/s/{code}", headers=BROWSER).status_code == 302
    assert "sms_clicked" not in texts.counters()


@pytest.mark.parametrize(
    "path",
    [
        "/s/AAAAAAAAAA",
        "/s/abc",
        "/s/" + "A" * 4000,
        "/s/%E6%96%B0%E8%8C%B6",
        "/s/AAAAA%00AAAA",
        "/s/..%2F..%2Fc",
    ],
)
def test_a_code_we_did_not_make_gets_the_not_found_page(texts: Channels, api: Any, path: str) -> None:
    answer = api.http.get(path, headers=BROWSER)
    assert answer.status_code == 404 and "text/html" in answer.headers["Content-Type"]
    assert "Location" not in answer.headers


def test_an_expired_code_gets_the_not_found_page_like_an_unknown_one(texts: Channels, api: Any) -> None:
    code = sent_code(texts)
    clock.travel(LINK_DAYS * 86400 + 1)  # DynamoDB's TTL may not have removed it yet
    answer = api.http.get(f"/s/{code}", headers=BROWSER)
    assert answer.status_code == 404 and "sms_clicked" not in texts.counters()
