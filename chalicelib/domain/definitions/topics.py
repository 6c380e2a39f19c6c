"""Topics a mail can be about (templates.yaml), and words shown in Japanese and English.

```yaml
topics:
  - {name: newsletter, label: {ja: ニュースレター, en: Newsletter}}
```
A template names the topic its mails are about; a form offers topics to choose; the preference
page turns them on and off.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .source import Document, Issue

MAX_TOPICS = 30
LANGUAGES = ("ja", "en")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Text:
    """Words shown to the visitor, in Japanese and English."""

    ja: str
    en: str

    def get(self, language: str) -> str:
        return self.en if language == "en" else self.ja


@dataclass(frozen=True)
class Topic:
    name: str
    label: Text


def parse_topics(doc: Document, items: Any, issues: list[Issue]) -> dict[str, Topic]:
    topics: dict[str, Topic] = {}
    if not isinstance(items, list) or len(items) > MAX_TOPICS:
        issues.append(doc.issue("topics", f"expected a list of at most {MAX_TOPICS} topics"))
        return topics
    for i, item in enumerate(items):
        where = f"topics[{i}]"
        name = item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(item, Mapping) or set(item) - {"name", "label"} or not is_name(name):
            issues.append(doc.issue(where, "expected {name: newsletter, label: {ja: ..., en: ...}}"))
            continue
        if name in topics:
            issues.append(doc.issue(f"{where}.name", f"topic {name!r} appears twice"))
            continue
        label = text(doc, item.get("label", name), f"{where}.label", issues, 100)
        topics[str(name)] = Topic(str(name), label or Text(str(name), str(name)))
    return topics


def text(doc: Document, value: Any, where: str, issues: list[Issue], most: int) -> Text | None:
    if isinstance(value, str) and value.strip():
        value = {"ja": value, "en": value}
    if (
        isinstance(value, Mapping)
        and set(value) <= set(LANGUAGES)
        and value
        and all(isinstance(v, str) and v.strip() and len(v) <= most for v in value.values())
    ):
        ja = str(value.get("ja") or value.get("en"))
        return Text(ja.strip(), str(value.get("en") or ja).strip())
    issues.append(doc.issue(where, f"expected text, or {{ja: ..., en: ...}}, of at most {most} characters"))
    return None


def is_name(value: Any) -> bool:
    return isinstance(value, str) and bool(_NAME.match(value))
