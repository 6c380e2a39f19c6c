"""`forms.yaml`: the sign-up forms a site offers, and the topics people can choose.

```yaml
topics:
  - {name: newsletter, label: {ja: ニュースレター, en: Newsletter}}
forms:
  - name: newsletter
    site: localhost              # a site's id or one of its domains
    fields:
      - {name: email}            # always there, always required
      - {name: name, required: true}
      - {name: attrs.favourite, label: {ja: 好きなお茶, en: Favourite tea}, options: [緑茶, 紅茶]}
    topics: [newsletter]
    consent: {ja: ..., en: ...}  # the wording shown next to the button, kept verbatim
    thanks: {ja: ..., en: ...}
    confirmation: welcome_confirm   # a template in templates.yaml showing {{ confirm_url }}
    opt_in: double               # or single: the site has collected consent itself
```
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..mail.templates import MailTemplate, TemplateError
from .source import Document, Issue, top

MAX_FORMS = 50
MAX_TOPICS = 30
MAX_FIELDS = 20
TEXT_CHARS = 2000  # consent wording, thank-you text
LANGUAGES = ("ja", "en")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_ATTR = re.compile(r"^attrs\.[A-Za-z0-9_-]{1,64}$")
KNOWN_FIELDS = {
    "email": ("email", "メールアドレス", "Email address"),
    "name": ("text", "お名前", "Name"),
    "last_name": ("text", "姓", "Last name"),
    "first_name": ("text", "名", "First name"),
    "company": ("text", "会社名", "Company"),
    "phone": ("tel", "電話番号", "Phone"),
}
CONFIRM_SENTINEL = "https://confirm.sodate.invalid/t"


@dataclass(frozen=True)
class Text:
    """Words shown to the visitor, in Japanese and English."""

    ja: str
    en: str

    def get(self, language: str) -> str:
        return self.en if language == "en" else self.ja


@dataclass(frozen=True)
class Field:
    name: str  # email, name, company, phone... or attrs.<key>
    kind: str  # email, text, tel, select
    required: bool
    label: Text
    options: tuple[str, ...] = ()
    max_chars: int = 200


@dataclass(frozen=True)
class Topic:
    name: str
    label: Text


@dataclass(frozen=True)
class Form:
    name: str
    site: str
    fields: tuple[Field, ...]
    topics: tuple[str, ...]
    consent: Text
    thanks: Text
    confirmation: str | None = None  # template name; None: the built-in bilingual mail
    opt_in: str = "double"
    language: str = "ja"
    redirect: str | None = None  # where a plain HTML post goes after it is taken
    plain_post: bool = False  # may a form with no start token (plain HTML on the site) post here
    title: Text | None = None  # the hosted page's heading (the form's name when not given)

    def heading(self, language: str) -> str:
        return self.title.get(language) if self.title else self.name

    def belongs_to(self, site_id: str, domains: tuple[str, ...]) -> bool:
        return self.site == site_id or self.site in domains

    def wording_id(self, language: str) -> str:
        """Names the exact consent wording shown (a hash of it): the ledger keeps both."""
        return hashlib.sha256(self.consent.get(language).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Forms:
    topics: dict[str, Topic] = field(default_factory=dict)
    forms: dict[str, Form] = field(default_factory=dict)


def parse_forms(doc: Document | None, templates: Mapping[str, MailTemplate], issues: list[Issue]) -> Forms:
    if doc is None:
        return Forms()
    data = top(doc, ("topics", "forms"), issues)
    if data is None:
        return Forms()
    topics: dict[str, Topic] = {}
    items = data.get("topics", [])
    if not isinstance(items, list) or len(items) > MAX_TOPICS:
        issues.append(doc.issue("topics", f"expected a list of at most {MAX_TOPICS} topics"))
        items = []
    for i, item in enumerate(items):
        where = f"topics[{i}]"
        name = item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(item, Mapping) or set(item) - {"name", "label"} or not _is_name(name):
            issues.append(doc.issue(where, "expected {name: newsletter, label: {ja: ..., en: ...}}"))
            continue
        if name in topics:
            issues.append(doc.issue(f"{where}.name", f"topic {name!r} appears twice"))
            continue
        label = _text(doc, item.get("label", name), f"{where}.label", issues, 100)
        topics[str(name)] = Topic(str(name), label or Text(str(name), str(name)))
    forms: dict[str, Form] = {}
    items = data.get("forms", [])
    if not isinstance(items, list) or len(items) > MAX_FORMS:
        issues.append(doc.issue("forms", f"expected a list of at most {MAX_FORMS} forms"))
        items = []
    for i, item in enumerate(items):
        form = _form(doc, item, f"forms[{i}]", topics, templates, issues)
        if form is None:
            continue
        if form.name in forms:
            issues.append(doc.issue(f"forms[{i}].name", f"form {form.name!r} appears twice"))
            continue
        forms[form.name] = form
    return Forms(topics, forms)


_FORM_KEYS = (
    "name",
    "title",
    "site",
    "fields",
    "topics",
    "consent",
    "thanks",
    "confirmation",
    "opt_in",
    "language",
    "redirect",
    "plain_post",
)


def _form(
    doc: Document,
    item: Any,
    where: str,
    topics: dict[str, Topic],
    templates: Mapping[str, MailTemplate],
    issues: list[Issue],
) -> Form | None:
    if not isinstance(item, Mapping):
        issues.append(doc.issue(where, "expected a mapping such as {name: newsletter, site: ..., ...}"))
        return None
    before = len(issues)
    for key in item:
        if key not in _FORM_KEYS:
            issues.append(doc.issue(f"{where}.{key}", f"unexpected key (allowed: {', '.join(_FORM_KEYS)})"))
    name = item.get("name")
    if not _is_name(name):
        issues.append(doc.issue(f"{where}.name", "expected a name of a-z, 0-9, - and _ (at most 64)"))
    site = item.get("site")
    if not isinstance(site, str) or not site.strip() or len(site) > 253:
        issues.append(doc.issue(f"{where}.site", "expected the site's id or one of its domains"))
    fields = _fields(doc, item.get("fields", [{"name": "email"}]), f"{where}.fields", issues)
    offered = item.get("topics", [])
    if not isinstance(offered, list) or not all(isinstance(t, str) for t in offered):
        issues.append(doc.issue(f"{where}.topics", "expected a list of topic names"))
        offered = []
    for j, topic in enumerate(offered):
        if topic not in topics:
            known = ", ".join(topics) or "none are defined"
            issues.append(doc.issue(f"{where}.topics[{j}]", f"no topic {topic!r} (topics: {known})"))
    if "consent" not in item:
        issues.append(doc.issue(f"{where}.consent", "every form shows the consent wording it asks for"))
    consent = (
        _text(doc, item["consent"], f"{where}.consent", issues, TEXT_CHARS) if "consent" in item else None
    )
    default_thanks = "ありがとうございます。確認メールをお送りしました。"
    thanks = _text(doc, item.get("thanks", default_thanks), f"{where}.thanks", issues, TEXT_CHARS)
    confirmation = item.get("confirmation")
    if confirmation is not None:
        _check_confirmation(doc, confirmation, f"{where}.confirmation", templates, issues)
    opt_in = item.get("opt_in", "double")
    if opt_in not in ("double", "single"):
        issues.append(doc.issue(f"{where}.opt_in", "expected double (a confirmation mail) or single"))
    language = item.get("language", "ja")
    if language not in LANGUAGES:
        issues.append(doc.issue(f"{where}.language", "expected ja or en"))
    redirect = item.get("redirect")
    if redirect is not None and (
        not isinstance(redirect, str) or not re.match(r"^https?://[^\s/]+", redirect) or len(redirect) > 1000
    ):
        issues.append(doc.issue(f"{where}.redirect", "expected an http(s) address on the site"))
    plain_post = item.get("plain_post", False)
    if not isinstance(plain_post, bool):
        issues.append(doc.issue(f"{where}.plain_post", "expected true or false"))
    title = _text(doc, item["title"], f"{where}.title", issues, 200) if "title" in item else None
    if len(issues) > before or consent is None or thanks is None:
        return None
    return Form(
        str(name),
        str(site).strip(),
        fields,
        tuple(offered),
        consent,
        thanks,
        confirmation,
        str(opt_in),
        str(language),
        redirect,
        bool(plain_post),
        title,
    )


def _fields(doc: Document, items: Any, where: str, issues: list[Issue]) -> tuple[Field, ...]:
    if not isinstance(items, list) or len(items) > MAX_FIELDS:
        issues.append(doc.issue(where, f"expected a list of at most {MAX_FIELDS} fields"))
        return ()
    found: dict[str, Field] = {}
    for i, item in enumerate(items):
        place = f"{where}[{i}]"
        name = item.get("name") if isinstance(item, Mapping) else None
        allowed = {"name", "label", "required", "options", "max_chars"}
        if not isinstance(item, Mapping) or set(item) - allowed:
            issues.append(doc.issue(place, "expected {name, label, required, options, max_chars}"))
            continue
        if not isinstance(name, str) or (name not in KNOWN_FIELDS and not _ATTR.match(name)):
            known = ", ".join(KNOWN_FIELDS)
            issues.append(doc.issue(f"{place}.name", f"expected one of {known}, or attrs.<key>"))
            continue
        if name in found:
            issues.append(doc.issue(f"{place}.name", f"field {name!r} appears twice"))
            continue
        kind, ja, en = KNOWN_FIELDS.get(name, ("text", name[6:], name[6:]))
        label = _text(doc, item.get("label", {"ja": ja, "en": en}), f"{place}.label", issues, 100)
        required = item.get("required", name == "email")
        if not isinstance(required, bool) or (name == "email" and not required):
            issues.append(doc.issue(f"{place}.required", "expected true or false (email is always required)"))
            continue
        options = item.get("options", [])
        if not isinstance(options, list) or len(options) > 50 or not all(isinstance(o, str) for o in options):
            issues.append(doc.issue(f"{place}.options", "expected a list of at most 50 choices"))
            continue
        most = item.get("max_chars", 200)
        if isinstance(most, bool) or not isinstance(most, int) or not 1 <= most <= 1000:
            issues.append(doc.issue(f"{place}.max_chars", "expected a whole number from 1 to 1000"))
            continue
        kind = "select" if options else kind
        if label is not None:
            found[name] = Field(name, kind, required, label, tuple(options), most)
    if "email" not in found:
        found = {"email": Field("email", "email", True, Text("メールアドレス", "Email address")), **found}
    return tuple(found.values())


def _check_confirmation(
    doc: Document, name: Any, where: str, templates: Mapping[str, MailTemplate], issues: list[Issue]
) -> None:
    if not isinstance(name, str) or name not in templates:
        issues.append(doc.issue(where, f"no template {name!r} in templates.yaml"))
        return
    try:
        shown = templates[name].render(
            {"email": "someone@example.com", "attrs": {}},
            {"confirm_url": CONFIRM_SENTINEL, "form": "form"},
        )
    except TemplateError as error:
        issues.append(doc.issue(where, f"template {name!r}: {error}"))
        return
    if CONFIRM_SENTINEL not in shown.html or CONFIRM_SENTINEL not in shown.text:
        issues.append(doc.issue(where, f"template {name!r} must show {{{{ confirm_url }}}} in html and text"))


def _text(doc: Document, value: Any, where: str, issues: list[Issue], most: int) -> Text | None:
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


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and bool(_NAME.match(value))
