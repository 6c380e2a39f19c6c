"""send_line / send_sms steps and a send's channels, as a marketer writes them: what is accepted,
what is refused (the error names the place and what is wrong), and which channel a person gets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.domain.channel_messages import MAX_BUBBLES
from chalicelib.domain.channels import Reach, choose, retry_key
from chalicelib.domain.scenarios import parse_scenario
from chalicelib.domain.segments.rules import RuleError
from chalicelib.domain.short_links import short_link_like
from chalicelib.domain.sms_text import MOST_PARTS, size

NONE: frozenset[str] = frozenset()


def scenario(*steps: dict[str, Any]) -> Any:
    node = {"name": "s", "entry": {"event": "purchase"}, "steps": list(steps)}
    return parse_scenario(node, "scenarios[0]", NONE, frozenset({"thank_you"}), NONE)


def refused(*steps: dict[str, Any]) -> RuleError:
    with pytest.raises(RuleError) as caught:
        scenario(*steps)
    return caught.value


def test_a_line_text_step_renders_the_persons_fields_and_tracks_its_links() -> None:
    text = "{{ name | default('お客様') }}様 新商品 https://shop.example.jp/new"
    step = scenario({"id": "hi", "send_line": {"text": text}}).steps["hi"]
    assert step.kind == "send_line" and step.plan is not None and step.plan.channels == ("line",)
    message = step.plan.line.render({"name": "山田"}, lambda url: "https://t.example/c/x")  # type: ignore[union-attr]
    assert message == {"type": "text", "text": "山田様 新商品 https://t.example/c/x"}


def test_a_field_without_a_default_is_refused_where_it_is_written() -> None:
    error = refused({"id": "hi", "send_line": {"text": "{{ name }}様"}})
    assert error.where == "scenarios[0].steps[0].send_line.text"
    assert "default" in error.message


def test_line_limits_are_the_references() -> None:
    too_long = refused({"id": "hi", "send_line": {"text": "あ" * 5001}})
    assert too_long.where.endswith("send_line.text") and "5000" in too_long.message
    http = refused(
        {"id": "p", "send_line": {"image": {"url": "http://x.jp/a.jpg", "preview": "https://x/b"}}}
    )
    assert http.where.endswith("send_line.image.url") and "HTTPS" in http.message
    bubbles = [{"type": "bubble"}] * (MAX_BUBBLES + 1)
    carousel = {"alt_text": "a", "contents": {"type": "carousel", "contents": bubbles}}
    assert "12" in refused({"id": "c", "send_line": {"flex": carousel}}).message
    big = {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": ["x" * 31_000]}}
    assert "30 KB" in refused({"id": "c", "send_line": {"flex": {"alt_text": "a", "contents": big}}}).message
    assert (
        "1500"
        in refused(
            {"id": "c", "send_line": {"flex": {"alt_text": "a" * 1501, "contents": {"type": "bubble"}}}}
        ).message
    )
    what = refused({"id": "c", "send_line": {"video": "https://x"}})
    assert what.where.endswith("send_line") and "text" in what.message


def test_flex_json_is_filled_in_and_its_uri_actions_are_tracked() -> None:
    bubble = {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "contents": [{"type": "text", "text": "{{ name | default('様') }}"}],
        },
        "footer": {
            "type": "button",
            "action": {"type": "uri", "label": "見る", "uri": "https://shop.example.jp/x"},
        },
    }
    flex = {"alt_text": "ご案内", "contents": json.dumps(bubble)}  # JSON text is read too
    line = scenario({"id": "c", "send_line": {"flex": flex}}).steps["c"].plan.line
    rendered = line.render({"name": "Aiko"}, lambda url: f"T({url})")
    assert rendered["altText"] == "ご案内"
    assert rendered["contents"]["body"]["contents"][0]["text"] == "Aiko"
    assert rendered["contents"]["footer"]["action"]["uri"] == "T(https://shop.example.jp/x)"


API = "https://abcdefghij.execute-api.ap-northeast-1.amazonaws.com/api"  # as long as a deployed API's


def test_an_sms_step_knows_its_size_in_parts_with_its_links_as_the_short_links_they_go_as() -> None:
    long_link = (
        "https://shop.example.jp/campaign/2026/shincha?utm_source=sms&utm_medium=text&utm_campaign=spring"
    )
    text = f"山田様 新茶が入りました。ご注文はこちら {long_link} 日曜まで送料無料"
    sms = scenario({"id": "t", "send_sms": text}).steps["t"].plan.sms
    assert sms is not None and size(text).parts == 2  # as written
    assert sms.describe(short_link_like("https://t.shop.jp")) == "1 part(s), UCS-2, 60 units"
    assert sms.describe(short_link_like(API)).startswith("2 part(s), UCS-2")  # under the API's address
    assert sms.render({}, short_link_like("https://t.shop.jp")).count("https://t.shop.jp/s/") == 1
    error = refused({"id": "t", "send_sms": {"text": "あ" * 700}})
    assert error.where.endswith("send_sms") and "11 SMS parts (UCS-2" in error.message


def test_a_text_whose_written_links_are_long_loads_when_it_fits_as_it_goes_out() -> None:
    text = "あ" * 600 + " https://shop.example.jp/" + "x" * 400  # 16 parts as written, 10 as sent
    assert size(text).parts > MOST_PARTS
    sms = scenario({"id": "t", "send_sms": text}).steps["t"].plan.sms
    assert sms is not None and sms.describe(short_link_like("https://t.shop.jp")).startswith("10 part(s)")


def test_a_send_names_its_channels_in_order_and_each_channels_message() -> None:
    step = {
        "id": "hi",
        "send": "thank_you",
        "channels": ["line", "sms", "email"],
        "line": {"text": "a"},
        "sms": "b",
    }
    plan = scenario(step).steps["hi"].plan
    assert plan.channels == ("line", "sms", "email") and plan.template == "thank_you"
    assert refused({**step, "channels": ["line", "fax"]}).where.endswith(".channels")
    missing = refused({k: v for k, v in step.items() if k != "sms"})
    assert missing.where.endswith(".sms") and "give the sms message" in missing.message
    assert refused({**step, "send": "nope"}).message == "no template named 'nope'"
    assert (
        scenario({"id": "x", "send": True, "channels": ["line"], "line": {"text": "a"}})
        .steps["x"]
        .plan.template
        is None
    )


def test_the_first_channel_the_person_is_on_and_allows_is_taken() -> None:
    def out(number: str) -> bool:
        return number.endswith("99")

    def via(person: dict[str, Any]) -> str:
        found = choose(("line", "sms", "email"), person, out)
        return found.channel if found else "none"

    line = {"line_user_id": "U" + "a" * 32, "line_permission": "granted"}
    phone = {"phone": "090-1234-5678", "sms_permission": "granted"}
    order = ("line", "sms", "email")
    person = {"email": "p@example.jp", **line, **phone}
    assert choose(order, person, out) == Reach("line", "U" + "a" * 32)
    assert choose(order, {**person, "line_permission": "withdrawn"}, out) == Reach("sms", "+819012345678")
    assert via({**person, "line_permission": None, "sms_permission": None}) == "email"
    landline = {**person, "line_permission": "withdrawn", "phone": "03-1234-5678"}
    assert via(landline) == "email"  # a landline takes no SMS
    opted_out = {**person, "line_permission": "withdrawn", "phone": "090-1234-5699"}
    assert via(opted_out) == "email"  # on the carriers' opt-out list
    assert choose(("line", "sms"), {"email": "p@example.jp"}, out) is None
    in_attrs = {"email": "p@example.jp", "attrs": line}  # columns of a CSV, not the person's word
    assert via(in_attrs) == "email", "a LINE id or permission an import gave reaches nobody"
    number_in_attrs = {
        "email": "p@example.jp",
        "sms_permission": "granted",
        "attrs": {"phone": "090-1234-5678"},
    }
    assert via(number_in_attrs) == "sms"


def test_a_retry_key_is_a_uuid_fixed_by_the_ledger_key() -> None:
    assert retry_key("c1#s#hi#1") == retry_key("c1#s#hi#1") != retry_key("c1#s#hi#2")
    assert len(retry_key("c1#s#hi#1")) == 36


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("新茶 https://shop.example.jp/new日曜まで", "新茶 <https://shop.example.jp/new>日曜まで"),
        ("See https://shop.example.jp/new.", "See <https://shop.example.jp/new>."),
        ("(https://shop.example.jp/a?b=1&c=2), then", "(<https://shop.example.jp/a?b=1&c=2>), then"),
        ("詳細は「https://shop.example.jp/x」へ", "詳細は「<https://shop.example.jp/x>」へ"),
        ("https://shop.example.jp/wiki/Tea_(drink)", "<https://shop.example.jp/wiki/Tea_(drink)>"),
    ],
)
def test_a_link_in_a_text_ends_where_the_words_around_it_begin(written: str, shown: str) -> None:
    step = scenario({"id": "hi", "send_sms": {"text": written}}).steps["hi"]
    assert step.plan.sms.render({}, lambda url: f"<{url}>") == shown  # type: ignore[union-attr]
