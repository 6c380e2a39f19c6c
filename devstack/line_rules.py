"""What the LINE stand-in checks in a send request, and the error bodies it answers with.

Everything here follows the Messaging API reference
(https://developers.line.biz/en/reference/messaging-api/, its source kept in
line/line-developers-docs-source `docs/en/reference/messaging-api/index.html.md`):

- "Error responses": `{"message": ..., "details": [{"message": ..., "property": ...}]}`, the
  `message` "The request body has X error(s)" when `details` name properties, "The property, XXX,
  in the request body is invalid (line: -, column: -)" for a property of the wrong kind (the
  multicast reference's own example), "The request body could not be parsed as JSON (line: X,
  column: Y)".
- "Send push message" / "Send multicast message": `messages` max 5, multicast `to` max 500 user
  ids; `to` a user id (`U` and 32 hex digits, as the webhook's `destination` is described).
- "Text message": `text` max 5000 characters, counted as UTF-16 code units ("Character counting
  in a text").  "Image message": `originalContentUrl` and `previewImageUrl` required, HTTPS, max
  2000 characters.  "Flex Message": `altText` required, max 1500 characters (the reference today;
  older pages said 400), `contents` a container: a bubble (`type` its only required property) or
  a carousel (`type` and `contents`, an array of at most 12 bubbles).
- The `details[].message` wordings ("May not be empty", "Size must be between 1 and 5", "Length
  must be between 0 and 5000", "Must be one of the following values: [...]") are the ones the
  reference's example and LINE's answers use; the reference lists no complete catalogue of them.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_MESSAGES = 5
MAX_MULTICAST_TO = 500
MAX_TEXT = 5000
MAX_IMAGE_URL = 2000
MAX_ALT_TEXT = 1500
MAX_CAROUSEL_BUBBLES = 12
USER_ID = re.compile(r"U[0-9a-f]{32}")
HEX_UUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
MESSAGE_TYPES = (
    "text",
    "image",
    "video",
    "audio",
    "location",
    "sticker",
    "template",
    "imagemap",
    "flex",
    "coupon",
)
# Message objects that can be quoted get a quote token in `sentMessages` ("Get quote tokens").
QUOTABLE = ("text", "image", "video", "sticker")


class Invalid(Exception):
    """A request LINE refuses with 400 and this body."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body["message"])
        self.body = body


def error(message: str) -> dict[str, Any]:
    return {"message": message}


def wrong_property(name: str) -> Invalid:
    return Invalid(error(f"The property, {name}, in the request body is invalid (line: -, column: -)"))


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise Invalid(error("The request body could not be parsed as JSON (line: 1, column: 1)")) from e
    except json.JSONDecodeError as e:
        raise Invalid(
            error(f"The request body could not be parsed as JSON (line: {e.lineno}, column: {e.colno})")
        ) from e


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def is_retry_key(value: str) -> bool:
    """A UUID in hexadecimal notation, e.g. 123e4567-e89b-12d3-a456-426614174000."""
    return HEX_UUID.fullmatch(value) is not None


class Details:
    """The `details` of one request, in the order found."""

    def __init__(self) -> None:
        self.found: list[dict[str, str]] = []

    def add(self, prop: str, message: str) -> None:
        self.found.append({"message": message, "property": prop})

    def raise_any(self) -> None:
        if self.found:
            raise Invalid(
                {"message": f"The request body has {len(self.found)} error(s)", "details": self.found}
            )


def push_body(body: Any) -> tuple[str, list[dict[str, Any]], bool]:
    """`to`, `messages`, `notificationDisabled` of a valid push request."""
    if not isinstance(body, dict):
        raise Invalid(error("The request body could not be parsed as JSON (line: 1, column: 1)"))
    to = body.get("to")
    if to is not None and not isinstance(to, str):
        raise wrong_property("to")
    details = Details()
    if not to:
        details.add("to", "May not be empty")
    messages = _messages(body, details)
    silent = _notification_disabled(body)
    details.raise_any()
    return str(to), messages, silent


def multicast_body(body: Any) -> tuple[list[str], list[dict[str, Any]], bool]:
    """`to`, `messages`, `notificationDisabled` of a valid multicast request."""
    if not isinstance(body, dict):
        raise Invalid(error("The request body could not be parsed as JSON (line: 1, column: 1)"))
    to = body.get("to")
    if to is not None and not isinstance(to, list):
        raise wrong_property("to")
    for i, user in enumerate(to or []):
        if not isinstance(user, str) or not USER_ID.fullmatch(user):
            raise wrong_property(f"to[{i}]")
    details = Details()
    if not to or len(to) > MAX_MULTICAST_TO:
        details.add("to", f"Size must be between 1 and {MAX_MULTICAST_TO}")
    messages = _messages(body, details)
    silent = _notification_disabled(body)
    details.raise_any()
    return list(to or []), messages, silent


def _notification_disabled(body: dict[str, Any]) -> bool:
    value = body.get("notificationDisabled", False)
    if not isinstance(value, bool):
        raise wrong_property("notificationDisabled")
    return value


def _messages(body: dict[str, Any], details: Details) -> list[dict[str, Any]]:
    messages = body.get("messages")
    if messages is not None and not isinstance(messages, list):
        raise wrong_property("messages")
    if not messages or len(messages) > MAX_MESSAGES:
        details.add("messages", f"Size must be between 1 and {MAX_MESSAGES}")
        return []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise wrong_property(f"messages[{i}]")
        _message(f"messages[{i}]", message, details)
    return list(messages)


def _message(at: str, message: dict[str, Any], details: Details) -> None:
    kind = message.get("type")
    if kind not in MESSAGE_TYPES:
        details.add(f"{at}.type", f"Must be one of the following values: [{', '.join(MESSAGE_TYPES)}]")
    elif kind == "text":
        _text(f"{at}.text", message.get("text"), MAX_TEXT, details)
    elif kind == "image":
        for name in ("originalContentUrl", "previewImageUrl"):
            _https_url(f"{at}.{name}", message.get(name), details)
    elif kind == "flex":
        _text(f"{at}.altText", message.get("altText"), MAX_ALT_TEXT, details)
        _flex_container(f"{at}.contents", message.get("contents"), details)


def _filled(at: str, value: Any, details: Details) -> bool:
    """A string property that must be given: a wrong type is refused whole, an empty one noted."""
    if value is not None and not isinstance(value, str):
        raise wrong_property(at)
    if not value:
        details.add(at, "May not be empty")
    return bool(value)


def _text(at: str, value: Any, limit: int, details: Details) -> None:
    if _filled(at, value, details) and utf16_length(value) > limit:
        details.add(at, f"Length must be between 0 and {limit}")


def _https_url(at: str, value: Any, details: Details) -> None:
    if not _filled(at, value, details):
        return
    if len(value) > MAX_IMAGE_URL:
        details.add(at, f"Length must be between 0 and {MAX_IMAGE_URL}")
    elif not re.fullmatch(r"https://[^/\s?#]+[^\s]*", value):
        details.add(at, "Must be a valid HTTPS URL")


def _flex_container(at: str, contents: Any, details: Details) -> None:
    if contents is None:
        details.add(at, "May not be null")
        return
    if not isinstance(contents, dict):
        raise wrong_property(at)
    kind = contents.get("type")
    if kind not in ("bubble", "carousel"):
        details.add(f"{at}.type", "Must be one of the following values: [bubble, carousel]")
        return
    if kind == "bubble":
        return
    bubbles = contents.get("contents")
    if bubbles is None:
        details.add(f"{at}.contents", "May not be null")
    elif not isinstance(bubbles, list):
        raise wrong_property(f"{at}.contents")
    elif len(bubbles) > MAX_CAROUSEL_BUBBLES:
        details.add(f"{at}.contents", f"Size must be between 0 and {MAX_CAROUSEL_BUBBLES}")
    else:
        for i, bubble in enumerate(bubbles):
            if not isinstance(bubble, dict) or bubble.get("type") != "bubble":
                details.add(f"{at}.contents[{i}].type", "Must be one of the following values: [bubble]")
