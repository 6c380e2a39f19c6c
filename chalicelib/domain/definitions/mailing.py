"""`templates.yaml` (sender, layout, mail templates) and `scenarios.yaml` (journeys), checked.

Templates are rendered once at definition time for a person with nothing but
an address: a field without a default (`{{ name }}` rather than
`{{ name | default('お客様') }}`) is reported here, with its line, instead of
failing a send at night.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..mail.templates import MailTemplate, TemplateError
from ..scenarios import Scenario, parse_scenario
from ..segments.rules import RuleError
from .source import Document, Issue, top
from .topics import Topic, parse_topics

MAX_TEMPLATES = 200
MAX_SCENARIOS = 100
TEMPLATE_PARTS = ("name", "subject", "html", "text")
PURPOSES = ("marketing", "confirmation")  # a confirmation mail shows {{ confirm_url }}, never a scenario's
_SAMPLE = {"email": "someone@example.com", "attrs": {}}
_EXTRAS = {
    "marketing": {"unsubscribe_url": "https://example.com/u", "preferences_url": "https://example.com/p"},
    "confirmation": {"confirm_url": "https://example.com/confirm", "form": "newsletter"},
}


@dataclass(frozen=True)
class Mailing:
    sender_name: str = ""
    postal_address: str = ""
    templates: dict[str, MailTemplate] = field(default_factory=dict)
    confirmations: frozenset[str] = frozenset()  # templates for a form's confirmation mail
    topics: dict[str, str] = field(default_factory=dict)  # template -> the topic its mail is about
    topic_list: dict[str, Topic] = field(default_factory=dict)  # every topic a mail can be about

    @property
    def marketing(self) -> frozenset[str]:
        return frozenset(self.templates) - self.confirmations


@dataclass(frozen=True)
class Journeys:
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    timezone: str = "UTC"  # for people whose own is not known
    cap: tuple[int, int] | None = None  # at most this many mails in this many hours, across scenarios
    version: int = 0


def parse_mailing(doc: Document | None, issues: list[Issue]) -> Mailing:
    if doc is None:
        return Mailing()
    data = top(doc, ("sender", "layout", "topics", "templates"), issues)
    if data is None:
        return Mailing()
    sender = data.get("sender")
    if (
        not isinstance(sender, Mapping)
        or set(sender) != {"name", "postal_address"}
        or not all(isinstance(v, str) and v.strip() for v in sender.values())
    ):
        issues.append(
            doc.issue(
                "sender",
                "expected {name: ..., postal_address: ...}: every marketing mail shows who sent it "
                "and from where (特定電子メール法, CAN-SPAM)",
            )
        )
        sender = {"name": "", "postal_address": ""}
    layout = data.get("layout")
    if layout is not None and (not isinstance(layout, str) or "{{ content }}" not in layout):
        issues.append(doc.issue("layout", "expected HTML text with {{ content }} where each mail goes"))
        layout = None
    topics = parse_topics(doc, data.get("topics", []), issues)
    items = data.get("templates", [])
    if not isinstance(items, list) or len(items) > MAX_TEMPLATES:
        issues.append(doc.issue("templates", f"expected a list of at most {MAX_TEMPLATES} templates"))
        items = []
    templates: dict[str, MailTemplate] = {}
    confirmations: set[str] = set()
    about: dict[str, str] = {}
    for i, item in enumerate(items):
        where = f"templates[{i}]"
        if (
            not isinstance(item, Mapping)
            or set(item) - {*TEMPLATE_PARTS, "purpose", "topic"}
            or "name" not in item
        ):
            issues.append(doc.issue(where, "expected {name, subject, html, text} (a purpose, a topic)"))
            continue
        topic = item.get("topic")
        if topic is not None and topic not in topics:
            known = ", ".join(sorted(topics)) or "none are defined under topics:"
            issues.append(doc.issue(f"{where}.topic", f"no topic {topic!r} (topics: {known})"))
            continue
        purpose = item.get("purpose", "marketing")
        if purpose not in PURPOSES:
            issues.append(doc.issue(f"{where}.purpose", "expected marketing (the default) or confirmation"))
            continue
        missing = [p for p in TEMPLATE_PARTS if not isinstance(item.get(p), str) or not item[p].strip()]
        if missing:
            issues.append(doc.issue(f"{where}.{missing[0]}", "expected text (every mail has HTML and text)"))
            continue
        if item["name"] in templates:
            issues.append(doc.issue(f"{where}.name", f"template {item['name']!r} appears twice"))
            continue
        try:
            template = MailTemplate(item["subject"], item["html"], item["text"], layout)
            template.render(_SAMPLE, _EXTRAS[purpose])
        except TemplateError as error:
            place = f"{where}.{error.where}" if error.where != "layout" else "layout"
            issues.append(doc.issue(place, str(error)))
            continue
        templates[item["name"]] = template
        if purpose == "confirmation":
            confirmations.add(item["name"])
        if topic is not None:
            about[item["name"]] = str(topic)
    sender_name, postal = str(sender["name"]).strip(), str(sender["postal_address"]).strip()
    return Mailing(sender_name, postal, templates, frozenset(confirmations), about, topics)


def parse_journeys(
    doc: Document | None,
    segments: frozenset[str],
    templates: frozenset[str],
    scores: frozenset[str],
    issues: list[Issue],
    version: int = 0,
) -> Journeys:
    if doc is None:
        return Journeys()
    data = top(doc, ("timezone", "frequency_cap", "scenarios"), issues)
    if data is None:
        return Journeys()
    zone = data.get("timezone", "UTC")
    try:
        ZoneInfo(zone if isinstance(zone, str) else "")
    except (ZoneInfoNotFoundError, ValueError):
        issues.append(doc.issue("timezone", f"not a timezone name such as Asia/Tokyo: {zone!r}"))
        zone = "UTC"
    cap = _cap(doc, data.get("frequency_cap"), issues)
    items = data.get("scenarios", [])
    if not isinstance(items, list) or len(items) > MAX_SCENARIOS:
        issues.append(doc.issue("scenarios", f"expected a list of at most {MAX_SCENARIOS} scenarios"))
        items = []
    scenarios: dict[str, Scenario] = {}
    for i, item in enumerate(items):
        try:
            scenario = parse_scenario(item, f"scenarios[{i}]", segments, templates, scores)
        except RuleError as error:
            issues.append(doc.issue(error.where, error.message))
            continue
        if scenario.name in scenarios:
            issues.append(doc.issue(f"scenarios[{i}].name", f"scenario {scenario.name!r} appears twice"))
            continue
        scenarios[scenario.name] = scenario
    return Journeys(scenarios, str(zone), cap, version)


def _cap(doc: Document, value: Any, issues: list[Issue]) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, Mapping) and set(value) == {"mails", "hours"}:
        mails, hours = value["mails"], value["hours"]
        whole = all(isinstance(v, int) and not isinstance(v, bool) for v in (mails, hours))
        if whole and 1 <= mails <= 100 and 1 <= hours <= 24 * 30:
            return mails, hours
    issues.append(doc.issue("frequency_cap", "expected {mails: 1, hours: 24} (whole numbers)"))
    return None
