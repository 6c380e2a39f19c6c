"""Mail for scenarios: sandboxed templates, personal fields, UTF-8 MIME with one-click unsubscribe."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email.policy import default

import pytest

from chalicelib.domain.mail.links import click, opened, track
from chalicelib.domain.mail.message import Sender, build_message
from chalicelib.domain.mail.templates import MailTemplate, TemplateError
from chalicelib.domain.tokens import InvalidTokenError, sign

SENDER = Sender("育てショップ", "shop@example.jp", "〒150-0001 東京都渋谷区神宮前1-2-3")
UNSUBSCRIBE = "https://api.example.jp/u/abc.def"


def test_personal_fields_with_defaults_and_html_escaped():
    template = MailTemplate(
        subject="{{ name | default('お客様') }}、新茶のご案内",
        html="<p>{{ name | default('お客様') }}様 ({{ company | default('') }})</p>",
        text="{{ name | default('お客様') }}様\n{{ attrs.rank | default('一般') }}会員",
    )
    known = template.render({"name": "山田 <b>太郎</b>", "company": "A&B", "attrs": {"rank": "ゴールド"}})
    assert known.subject == "山田 <b>太郎</b>、新茶のご案内"
    assert known.html == "<p>山田 &lt;b&gt;太郎&lt;/b&gt;様 (A&amp;B)</p>"
    assert known.text == "山田 <b>太郎</b>様\nゴールド会員"
    stranger = template.render({"email": "x@example.jp"})
    assert stranger.subject == "お客様、新茶のご案内" and stranger.text == "お客様様\n一般会員"


def test_a_field_holding_template_syntax_is_printed_never_run():
    template = MailTemplate("{{ name }}", "<p>{{ name }}</p>", "{{ name }}")
    rendered = template.render({"name": "{{ ''.__class__.__mro__ }}"})
    assert rendered.text == "{{ ''.__class__.__mro__ }}"
    assert "__class__" in rendered.html


def test_what_one_part_sets_stays_in_that_part_and_that_mail():
    template = MailTemplate(
        "{% set name = 'Boss' %}{{ name }}", "<p>{{ name }}</p>", "{{ name }} {{ range(2)|list }}"
    )
    first = template.render({"name": "Aiko"})
    assert (first.subject, first.html, first.text) == ("Boss", "<p>Aiko</p>", "Aiko [0, 1]")
    assert template.render({"name": "Ben"}).text == "Ben [0, 1]"


def test_templates_run_in_a_sandbox_and_errors_name_the_part_and_line():
    with pytest.raises(TemplateError) as raised:
        MailTemplate("hi", "<p>\n{{ ''.__class__.__mro__[1].__subclasses__() }}</p>", "x").render({})
    assert str(raised.value).startswith("html: not allowed in a template")
    with pytest.raises(TemplateError) as syntax:
        MailTemplate("hi", "<p>ok</p>", "line one\n{% if %}")
    assert (syntax.value.where, syntax.value.line) == ("text", 2)
    with pytest.raises(TemplateError) as missing:
        MailTemplate("{{ nickname }}", "x", "x").render({})
    assert "nickname" in str(missing.value) and "default" in str(missing.value)


def test_a_shared_layout_wraps_the_html():
    layout = "<html><body><header>育て</header>{{ content }}</body></html>"
    rendered = MailTemplate("s", "<p>{{ name }}</p>", "t", layout=layout).render({"name": "<i>花</i>"})
    assert rendered.html == "<html><body><header>育て</header><p>&lt;i&gt;花&lt;/i&gt;</p></body></html>"


def test_the_message_is_utf8_with_one_click_unsubscribe_and_the_senders_address():
    rendered = MailTemplate(
        "{{ name }}様、新茶のご案内", "<html><body><p>こんにちは</p></body></html>", "こんにちは"
    ).render({"name": "山田"})
    raw = build_message(SENDER, "taro@example.jp", rendered, UNSUBSCRIBE, datetime(2026, 11, 23, tzinfo=UTC))
    assert raw.isascii(), "headers are encoded-words, bodies base64 or quoted-printable"
    parsed = email.message_from_bytes(raw, policy=default)
    assert parsed["Subject"] == "山田様、新茶のご案内"
    assert parsed["From"].addresses[0].display_name == "育てショップ"
    assert parsed["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = parsed.get_body(("plain",)).get_content()
    html = parsed.get_body(("html",)).get_content()
    for body in (text, html):
        assert "東京都渋谷区神宮前1-2-3" in body and UNSUBSCRIBE in body and "育てショップ" in body
    assert html.index("配信停止") < html.index("</body>")
    with pytest.raises(ValueError):
        build_message(
            SENDER, "t@example.jp", rendered, "http://insecure.example", datetime(2026, 11, 23, tzinfo=UTC)
        )


# --- tracked links ---------------------------------------------------------------------------------
KEY = "k" * 40
API = "https://api.example.jp"


def test_web_links_are_tracked_per_recipient_and_lead_only_where_the_mail_pointed():
    page = (
        '<html><body><a href="https://shop.example.jp/tea?a=1&amp;b=2">tea</a> '
        "<a href='mailto:help@example.jp'>mail</a> <a href=\"#top\">top</a></body></html>"
    )
    tracked = track(page, API, "msg-1", KEY, 2_000_000_000)
    tokens = re.findall(r'href="https://api\.example\.jp/c/([^"]+)"', tracked)
    assert len(tokens) == 1 and "mailto:help@example.jp" in tracked and 'href="#top"' in tracked
    assert click(tokens[0], KEY, 1_900_000_000) == ("msg-1", "https://shop.example.jp/tea?a=1&b=2")
    pixel = re.search(r'<img src="https://api\.example\.jp/o/([^"]+)"', tracked)
    assert pixel and opened(pixel.group(1), KEY, 1_900_000_000) == "msg-1"
    assert tracked.index("<img") < tracked.index("</body>")


def test_tampered_forged_or_expired_click_tokens_go_nowhere():
    token = re.findall(
        r"/c/([^\"]+)", track('<a href="https://shop.example.jp/">x</a>', API, "m", KEY, 2_000_000_000)
    )[0]
    body, signature = token.split(".")
    forged_body = body[:-2] + ("AA" if body[-2:] != "AA" else "BB")
    for bad in (f"{forged_body}.{signature}", token + "x", "nonsense", ""):
        with pytest.raises(InvalidTokenError):
            click(bad, KEY, 1_900_000_000)
    evil = sign({"m": "m", "u": "https://evil.example/"}, "another-key", 2_000_000_000)
    with pytest.raises(InvalidTokenError):
        click(evil, KEY, 1_900_000_000)
    with pytest.raises(InvalidTokenError):
        click(token, KEY, 2_100_000_000)
    script = sign({"m": "m", "u": "javascript:alert(1)"}, KEY, 2_000_000_000)
    with pytest.raises(InvalidTokenError):
        click(script, KEY, 1_900_000_000)


def test_a_long_unsubscribe_link_stays_one_plain_header_line():
    """Folded into encoded-words (the library's default for a long token), no client finds it."""
    long_link = "https://mail.example.jp/api/u/" + "x" * 300 + "." + "y" * 43
    rendered = MailTemplate("件名", "<p>本文</p>", "本文").render({})
    raw = build_message(SENDER, "taro@example.jp", rendered, long_link, datetime(2026, 11, 23, tzinfo=UTC))
    assert f"List-Unsubscribe: <{long_link}>\r\n".encode() in raw
    assert b"=?utf-8?" in raw.split(b"\r\nSubject: ")[1].split(b"\r\n")[0]  # the subject is still encoded
