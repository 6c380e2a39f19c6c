"""LINE and SMS messages of a scenario step, checked when the definition is given (pure).

Definition syntax (inside a scenario's steps):

    - {id: hi, send_line: {text: "{{ name | default('お客様') }}様、ご購入ありがとうございます"}}
    - {id: pic, send_line: {image: {url: "https://...jpg", preview: "https://...jpg"}}}
    - {id: card, send_line: {flex: {alt_text: "新商品のご案内", contents: {type: bubble, ...}}}}
    - {id: sms, send_sms: "{{ name | default('お客様') }}様 ご注文を承りました"}
    - {id: otp, send_sms: {text: "ご注文を承りました", sms_type: transactional}}  # promotional by default
    - id: hello
      send: thank_you                 # the mail template (the email channel)
      channels: [line, sms, email]    # the first the person is on and allows, in this order
      line: {text: "..."}
      sms: "..."

Limits checked, as LINE's Messaging API reference states them: a text of at most 5,000
characters (UTF-16 code units, as LINE counts); an image's two URLs HTTPS and at most 2,000
characters; a Flex message's altText at most 1,500 characters, its contents a bubble (at most
30 KB of JSON) or a carousel of at most 12 bubbles (at most 50 KB).  An SMS is at most
`sms_text.MOST_PARTS` parts; its size in parts (GSM-7 160/153, UCS-2 70/67) is measured with
its links as they go out -- each a short link (short_links.py) -- and shown in the scenario
report (`describe`, given the stack's short-link address).  Loading refuses only a text that
every send would refuse: its links measured at the shortest a short link can be
(`SHORTEST_LINK`).  Every {{ }} field runs in the mail templates' sandbox, rendered once here
for a person with nothing but an address, so a missing default is found now.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .channels import CHANNELS
from .mail.templates import TemplateError, TextTemplate
from .segments.rules import RuleError
from .short_links import short_link_like
from .sms_senders import SMS_TYPES
from .sms_text import MOST_PARTS, SmsSize, size

MAX_TEXT = 5000
MAX_URL = 2000
SHORTEST_LINK = short_link_like("https://a.jp")  # no short-link address is shorter
MAX_ALT_TEXT = 1500
MAX_BUBBLE_BYTES = 30 * 1000
MAX_CAROUSEL_BYTES = 50 * 1000
MAX_BUBBLES = 12
_SAMPLE = {"email": "someone@example.com", "attrs": {}}
# A web address in a text runs over the characters a URL may hold (RFC 3986: ASCII), so one
# written right before Japanese words ("https://shop.example.jp/new日曜まで") ends where they
# begin; a sentence's full stop or comma after it, or a bracket around it, is not part of it.
_WEB_LINK = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&*+,;=%()]+")
_TRAILING = ".,;:!?"

Link = Callable[[str], str]  # a destination as the message shows it (tracked, for a click)


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def with_links(text: str, link: Link) -> str:
    """Every web address in a text, as `link` writes it."""

    def tracked(found: re.Match[str]) -> str:
        url, after = found.group(0), ""
        while url and (url[-1] in _TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))):
            url, after = url[:-1], url[-1] + after
        return link(url) + after

    return _WEB_LINK.sub(tracked, text)


def _web_address(text: str) -> bool:
    """A Flex action's `uri` that is a web page (Japanese in its path too): tracked."""
    return text.startswith(("https://", "http://")) and not any(c.isspace() for c in text)


def _template(source: Any, where: str) -> TextTemplate:
    if not isinstance(source, str) or not source.strip():
        raise RuleError(where, "expected text")
    try:
        template = TextTemplate(source, where)
        template.render(_SAMPLE)
    except TemplateError as error:
        raise RuleError(where, str(error).split(": ", 1)[-1]) from None
    return template


@dataclass(frozen=True)
class LineMessage:
    """One LINE message object, its text parts templates."""

    kind: str  # text, image, flex
    parts: Any  # text: a template; image: (url, preview) templates; flex: (alt text, contents tree)

    def render(self, contact: Mapping[str, Any], link: Link = str) -> dict[str, Any]:
        """The message object for this person; ValueError when their data breaks a limit."""
        if self.kind == "text":
            text = with_links(self.parts.render(contact), link)
            _within(text, MAX_TEXT, "text")
            return {"type": "text", "text": text}
        if self.kind == "image":
            url, preview = (t.render(contact) for t in self.parts)
            return {"type": "image", "originalContentUrl": url, "previewImageUrl": preview}
        alt, tree = self.parts
        alt_text = alt.render(contact)
        _within(alt_text, MAX_ALT_TEXT, "alt_text")
        return {"type": "flex", "altText": alt_text, "contents": _fill(tree, contact, link, "")}


def _within(text: str, most: int, what: str) -> None:
    if not text.strip() or utf16_units(text) > most:
        raise ValueError(f"the LINE {what} must be 1 to {most} characters (it has {utf16_units(text)})")


def _fill(node: Any, contact: Mapping[str, Any], link: Link, key: str) -> Any:
    """A Flex tree with its templates rendered and its `uri` actions tracked."""
    if isinstance(node, TextTemplate | str):
        text = node.render(contact) if isinstance(node, TextTemplate) else node
        return link(text) if key == "uri" and _web_address(text) else text
    if isinstance(node, dict):
        return {k: _fill(v, contact, link, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, contact, link, key) for v in node]
    return node


def parse_line(spec: Any, where: str) -> LineMessage:
    if not isinstance(spec, Mapping) or len(spec) != 1 or next(iter(spec)) not in ("text", "image", "flex"):
        raise RuleError(where, "expected exactly one of {text: ...}, {image: {url, preview}}, {flex: {...}}")
    ((kind, body),) = spec.items()
    at = f"{where}.{kind}"
    if kind == "text":
        template = _template(body, at)
        _check(lambda: LineMessage(kind, template).render(_SAMPLE), at)
        return LineMessage(kind, template)
    if kind == "image":
        if not isinstance(body, Mapping) or set(body) != {"url", "preview"}:
            raise RuleError(at, "expected {url: https://..., preview: https://...} (JPEG or PNG)")
        urls = tuple(_template(body[k], f"{at}.{k}") for k in ("url", "preview"))
        for name, template in zip(("url", "preview"), urls, strict=True):
            url = template.render(_SAMPLE)
            if not url.startswith("https://") or len(url) > MAX_URL:
                raise RuleError(
                    f"{at}.{name}", f"LINE shows images from HTTPS addresses of at most {MAX_URL}"
                )
        return LineMessage(kind, urls)
    if not isinstance(body, Mapping) or set(body) != {"alt_text", "contents"}:
        raise RuleError(at, "expected {alt_text: ..., contents: {type: bubble | carousel, ...}}")
    contents = _json(body["contents"], f"{at}.contents")
    _flex_limits(contents, f"{at}.contents")
    message = LineMessage(kind, (_template(body["alt_text"], f"{at}.alt_text"), _tree(contents, at)))
    _check(lambda: message.render(_SAMPLE), at)
    return message


def _json(node: Any, where: str) -> Any:
    """Flex contents written as YAML or as JSON text."""
    if isinstance(node, str):
        try:
            node = json.loads(node)
        except ValueError as error:
            raise RuleError(where, f"not JSON: {error}") from None
    if not isinstance(node, Mapping):
        raise RuleError(where, "expected a Flex container: {type: bubble, ...} or {type: carousel, ...}")
    return node


def _flex_limits(contents: Mapping[str, Any], where: str) -> None:
    kind = contents.get("type")
    room = len(json.dumps(contents, ensure_ascii=False, separators=(",", ":")).encode())
    if kind == "bubble":
        if room > MAX_BUBBLE_BYTES:
            raise RuleError(where, f"a bubble is at most 30 KB of JSON (this one is {room:,} bytes)")
        return
    if kind != "carousel":
        raise RuleError(f"{where}.type", "expected bubble or carousel")
    bubbles = contents.get("contents")
    if not isinstance(bubbles, list) or not 1 <= len(bubbles) <= MAX_BUBBLES:
        raise RuleError(f"{where}.contents", f"a carousel holds 1 to {MAX_BUBBLES} bubbles")
    for i, bubble in enumerate(bubbles):
        if not isinstance(bubble, Mapping) or bubble.get("type") != "bubble":
            raise RuleError(f"{where}.contents[{i}].type", "every item of a carousel is a bubble")
    if room > MAX_CAROUSEL_BYTES:
        raise RuleError(where, f"a carousel is at most 50 KB of JSON (this one is {room:,} bytes)")


def _tree(node: Any, where: str) -> Any:
    """The contents with each string holding {{ }} or {% %} made a template."""
    if isinstance(node, str):
        return _template(node, where) if ("{{" in node or "{%" in node) else node
    if isinstance(node, Mapping):
        return {str(k): _tree(v, f"{where}.{k}") for k, v in node.items()}
    if isinstance(node, list):
        return [_tree(v, f"{where}[{i}]") for i, v in enumerate(node)]
    return node


def _check(render: Callable[[], Any], where: str) -> None:
    try:
        render()
    except (ValueError, TemplateError) as error:
        raise RuleError(where, str(error)) from None


@dataclass(frozen=True)
class SmsMessage:
    text: TextTemplate
    sample: str  # as rendered for a person with no fields, its links as written
    sms_type: str = "promotional"  # or transactional (End User Messaging SMS's MessageType)

    def size(self, link: Link) -> SmsSize:
        """The sample's size with each link as `link` writes it."""
        return size(with_links(self.sample, link))

    def render(self, contact: Mapping[str, Any], link: Link = str) -> str:
        text = with_links(self.text.render(contact), link)
        if not text.strip() or size(text).parts > MOST_PARTS:
            raise ValueError(f"an SMS is at most {MOST_PARTS} parts (this one takes {size(text).parts})")
        return text

    def describe(self, link: Link) -> str:
        found = self.size(link)
        return f"{found.parts} part(s), {found.encoding}, {found.units} units"


def parse_sms(spec: Any, where: str) -> SmsMessage:
    """A text: "..." or {text: "...", sms_type: promotional | transactional}."""
    sms_type = "promotional"
    source = spec
    if isinstance(spec, Mapping):
        if "text" not in spec or set(spec) - {"text", "sms_type"}:
            raise RuleError(where, "expected the text, or {text: ..., sms_type: promotional | transactional}")
        source, sms_type = spec["text"], spec.get("sms_type", sms_type)
        if sms_type not in SMS_TYPES:
            raise RuleError(
                f"{where}.sms_type", f"expected {' or '.join(SMS_TYPES)}, not {str(sms_type)[:40]!r}"
            )
    template = _template(source, where)
    message = SmsMessage(template, template.render(_SAMPLE), str(sms_type))
    least = message.size(SHORTEST_LINK)
    if least.parts > MOST_PARTS:
        raise RuleError(
            where,
            f"{least.parts} SMS parts ({least.encoding}, {least.units} units); at most {MOST_PARTS}",
        )
    return message


@dataclass(frozen=True)
class ChannelPlan:
    """Where a send step may go, in order, and what it says on each channel."""

    channels: tuple[str, ...]
    template: str | None = None  # the mail template (email)
    line: LineMessage | None = None
    sms: SmsMessage | None = None

    @property
    def email_only(self) -> bool:
        return self.channels == ("email",)


def parse_channels(raw: Mapping[str, Any], kind: str, where: str, templates: frozenset[str]) -> ChannelPlan:
    """The plan of a send, send_line or send_sms step (`raw` is the whole step)."""
    if kind == "send_line":
        return ChannelPlan(("line",), line=parse_line(raw[kind], f"{where}.send_line"))
    if kind == "send_sms":
        return ChannelPlan(("sms",), sms=parse_sms(raw[kind], f"{where}.send_sms"))
    channels = raw.get("channels", ["email"])
    if (
        not isinstance(channels, list)
        or not channels
        or any(c not in CHANNELS for c in channels)
        or len(set(channels)) != len(channels)
    ):
        raise RuleError(f"{where}.channels", f"expected some of {', '.join(CHANNELS)}, each once, in order")
    for part in ("line", "sms"):
        if part in raw and part not in channels:
            raise RuleError(f"{where}.{part}", f"a {part} message, but {part} is not in channels")
        if part in channels and part not in raw:
            raise RuleError(f"{where}.{part}", f"channels name {part}: give the {part} message too")
    template = raw.get("send")
    if "email" in channels and template not in templates:
        raise RuleError(f"{where}.send", f"no template named {template!r}")
    return ChannelPlan(
        tuple(channels),
        str(template) if "email" in channels else None,
        parse_line(raw["line"], f"{where}.line") if "line" in raw else None,
        parse_sms(raw["sms"], f"{where}.sms") if "sms" in raw else None,
    )
