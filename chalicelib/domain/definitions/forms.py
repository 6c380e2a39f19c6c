"""`forms.yaml`: the sign-up forms a site offers (the topics they offer are templates.yaml's).

```yaml
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
from .topics import LANGUAGES, Text, Topic, is_name, text

MAX_FORMS = 50
MAX_TOPICS = 30
MAX_FIELDS = 20
TEXT_CHARS = 2000  # consent wording, thank-you text
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
class Field:
    name: str  # email, name, company, phone... or attrs.<key>
    kind: str  # email, text, tel, select
    required: bool
    label: Text
    options: tuple[str, ...] = ()
    max_chars: int = 200


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


def parse_forms(
    doc: Document | None, templates: Mapping[str, MailTemplate], topics: dict[str, Topic], issues: list[Issue]
) -> Forms:
    """`templates`: the confirmation templates; `topics`: those templates.yaml defines."""
    if doc is None:
        return Forms(topics)
    data = top(doc, ("forms",), issues)
    if data is None:
        return Forms(topics)
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
    if not is_name(name):
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
        text(doc, item["consent"], f"{where}.consent", issues, TEXT_CHARS) if "consent" in item else None
    )
    default_thanks = "ありがとうございます。確認メールをお送りしました。"
    thanks = text(doc, item.get("thanks", default_thanks), f"{where}.thanks", issues, TEXT_CHARS)
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
    title = text(doc, item["title"], f"{where}.title", issues, 200) if "title" in item else None
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
        label = text(doc, item.get("label", {"ja": ja, "en": en}), f"{place}.label", issues, 100)
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
