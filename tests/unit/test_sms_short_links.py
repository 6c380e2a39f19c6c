"""Short links in texts, over the in-memory fakes: a Japanese text with a link fits in fewer
parts, the code stands for the same signed click token a mail would carry, a retried send makes
the same code (no orphans), and a code that is not ours is refused before any look-up."""

from __future__ import annotations

import re

import pytest

from chalicelib.domain.short_links import ALPHABET, CODE_CHARS, code_for
from chalicelib.domain.sms_text import size
from chalicelib.domain.tokens import CLICK, InvalidTokenError, verify
from chalicelib.services.mailer import LINK_DAYS
from chalicelib.services.short_links import ShortLinks
from tests.fakes import FakeClock, MemoryShortLinks
from tests.unit.test_messenger import person, world

KEY = "k" * 64  # the world's link-signing key
SHOP = "https://shop.example.jp/new-tea?from=sms"
TEXT = f"{{{{ name | default('お客様') }}}}様 新茶が入りました。ご注文はこちら {SHOP} 日曜まで送料無料"
SHORT = re.compile(r"https://t\.example\.jp/api/s/([0-9A-Za-z]+)")


def texted(short: bool = True, tokens: int | None = None):  # type: ignore[no-untyped-def]
    w = world(f'      - {{id: text, send_sms: "{TEXT}"}}')
    if not short:
        w.short_links = None  # as texts were before: the signed token itself
    w.buckets.tokens = tokens
    person(w, "text", phone="080-1111-2222", sms_permission="granted")
    return w


def test_a_japanese_text_with_a_link_fits_in_one_part_where_the_signed_token_took_four() -> None:
    before, after = texted(short=False), texted()
    before.runner().tick()
    after.runner().tick()
    ((_, long_text),) = before.sms.sent
    ((number, text),) = after.sms.sent
    assert "/api/c/" in long_text and size(long_text) == ("UCS-2", 223, 4)
    assert number == "+818011112222" and text.startswith(
        "P1様 新茶が入りました。ご注文はこちら https://t.example.jp/api/s/"
    )
    assert size(text) == ("UCS-2", 67, 1)
    (code,) = SHORT.findall(text)
    assert len(code) == CODE_CHARS and set(code) <= set(ALPHABET)


def test_the_code_stands_for_the_click_token_a_mail_would_carry_until_it_expires() -> None:
    w = texted()
    w.runner().tick()
    (code,) = SHORT.findall(w.sms.sent[0][1])
    token = w.short_links.token(code)  # type: ignore[union-attr]
    claims = verify(token, KEY, w.clock(), CLICK)
    assert claims["m"] == "c001#welcome#text#1" and claims["u"] == SHOP
    ((kept_token, _, expires_at),) = w.short_codes.codes.values()
    assert kept_token == token and expires_at == claims["exp"] == int(w.clock()) + LINK_DAYS * 86400
    w.clock.travel(LINK_DAYS * 86400)
    with pytest.raises(InvalidTokenError):
        w.short_links.token(code)  # type: ignore[union-attr]


def test_a_send_retried_after_throttling_makes_the_same_code_and_leaves_no_orphan() -> None:
    w = texted(tokens=0)  # the fleet's bucket is empty: the step waits for the next tick
    assert w.runner().tick()["throttled"] == 1 and w.sms.sent == []
    rendered = set(w.short_codes.codes)
    assert len(rendered) == 1  # rendered before the bucket said no
    w.buckets.tokens = None
    w.clock.travel(60)
    w.runner().tick()
    (code,) = SHORT.findall(w.sms.sent[0][1])
    assert set(w.short_codes.codes) == rendered == {code}


def test_a_code_held_by_another_link_gives_this_one_the_next_of_its_own_codes_every_time() -> None:
    store, clock = MemoryShortLinks(), FakeClock()
    links = ShortLinks(store, "https://s.example.jp/", clock)
    first = code_for(KEY, "c001#s#t#1", SHOP)
    store.keep(first, "someone-elses-token", "another source", 2_000_000_000)
    url = links.shorten(KEY, "c001#s#t#1", SHOP, "token", 2_000_000_000)
    assert url == f"https://s.example.jp/s/{code_for(KEY, 'c001#s#t#1', SHOP, 1)}"
    assert links.shorten(KEY, "c001#s#t#1", SHOP, "renewed", 2_000_000_100) == url  # a retry
    assert store.find(first, clock()) == "someone-elses-token" and links.token(url[-CODE_CHARS:]) == "renewed"


@pytest.mark.parametrize(
    "code", ["", "abc", "A" * 4000, "AAAAA-AAAA", "ＡＡＡＡＡＡＡＡＡＡ", "../../etc/", "AAAAA\x00AAAA"]
)
def test_a_malformed_code_is_refused_before_any_look_up(code: str) -> None:
    store = MemoryShortLinks()
    with pytest.raises(InvalidTokenError, match="malformed"):
        ShortLinks(store, "https://s.example.jp", FakeClock()).token(code)
    assert store.looked_up == []  # DynamoDB would refuse a key over 2 KB with a 400 of its own


def test_a_well_formed_code_we_never_made_is_refused_after_looking() -> None:
    store = MemoryShortLinks()
    with pytest.raises(InvalidTokenError):
        ShortLinks(store, "https://s.example.jp", FakeClock()).token("A" * CODE_CHARS)
    assert store.looked_up == ["A" * CODE_CHARS]
