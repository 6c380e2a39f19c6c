"""Mail templates: Jinja2 in a sandbox, personal fields with defaults, a shared layout.

A contact's fields are data, never template: `{{ name }}` prints whatever the
name holds, so a field containing `{{ ''.__class__ }}` is shown as those
characters (listmonk CVE-2025-49136 ran such text).  The templates themselves
run in Jinja2's sandbox, so a template cannot reach Python internals either;
HTML is escaped by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from markupsafe import Markup

from ..errors import BadInputError
from ..limits import TEMPLATE_OUTPUT_CHARS
from .sandbox import (
    CHUNK,
    BoundedSandbox,
    Budget,
    TooCostlyError,
    bounded_filter,
    running,
    sized,
    spend,
    steps,
    stopped,
    weighed,
    with_counted_loops,
)


def _environment(autoescape: bool) -> BoundedSandbox:
    env = BoundedSandbox(autoescape=autoescape, undefined=StrictUndefined)
    env.filters = {name: bounded_filter(name, run) for name, run in env.filters.items()}
    env.filters["sodate_steps"] = steps
    env.filters["sodate_sized"] = sized
    env.filters["sodate_weighed"] = weighed
    del env.globals["lipsum"]  # paragraphs of filler text on demand: nothing a mail needs
    return env


_HTML = _environment(autoescape=True)
_TEXT = _environment(autoescape=False)
_GLOBALS = dict(_HTML.globals)  # range, dict, cycler...: the same in both environments
FIELDS = ("email", "name", "last_name", "first_name", "company", "phone", "language", "timezone", "grade")


class TemplateError(BadInputError):
    """`where` names the part (subject, html, text, layout) and `line` the line in it."""

    def __init__(self, where: str, line: int | None, message: str) -> None:
        super().__init__(f"{where}{f' line {line}' if line else ''}: {message}")
        self.where = where
        self.line = line


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


class MailTemplate:
    """Checked once when defined; rendered per recipient."""

    def __init__(self, subject: str, html: str, text: str, layout: str | None = None) -> None:
        self._parts = {
            "subject": _compile(_TEXT, subject, "subject"),
            "html": _compile(_HTML, html, "html"),  # checked alone, so its errors name its own lines
            "text": _compile(_TEXT, text, "text"),
        }
        self._layout = None
        if layout:
            _compile(_HTML, layout, "layout")
            if layout.count("{{ content }}") == 1:  # one template to run per mail, not two
                self._parts["html"] = _compile(_HTML, layout.replace("{{ content }}", html), "layout")
            else:
                self._layout = _compile(_HTML, layout, "layout")

    def render(self, contact: Mapping[str, Any], extra: Mapping[str, str] | None = None) -> Rendered:
        """One mail; TemplateError (naming the part) when it fails or costs more than a mail may."""
        values = _GLOBALS | personal_fields(contact) | dict(extra or {})
        token = running(Budget())  # one budget for the whole mail
        try:
            subject = _run(self._parts["subject"], values, "subject").replace("\r", " ").replace("\n", " ")
            html = _run(self._parts["html"], values, "html")
            if self._layout is not None:
                html = _run(self._layout, values | {"content": Markup(html)}, "layout")
            return Rendered(subject.strip(), html, _run(self._parts["text"], values, "text"))
        finally:
            stopped(token)


class TextTemplate:
    """One plain-text part outside a mail (a LINE or SMS message, a string in a Flex message):
    the same sandbox, budget and fields as a mail's text part, nothing escaped."""

    def __init__(self, source: str, where: str) -> None:
        self._template = _compile(_TEXT, source, where)
        self._where = where

    def render(self, contact: Mapping[str, Any], extra: Mapping[str, str] | None = None) -> str:
        token = running(Budget())
        try:
            return _run(self._template, _GLOBALS | personal_fields(contact) | dict(extra or {}), self._where)
        finally:
            stopped(token)


def personal_fields(contact: Mapping[str, Any]) -> dict[str, Any]:
    """What a template may read: the contact's plain fields and custom attributes, as text."""
    values: dict[str, Any] = {
        name: str(contact[name]) for name in FIELDS if contact.get(name) not in (None, "")
    }
    attrs = contact.get("attrs") or {}
    values["attrs"] = {str(k): str(v) for k, v in attrs.items()}
    return values


def _compile(env: BoundedSandbox, source: str, where: str) -> Any:
    """A Jinja template, or the text itself when it holds no Jinja at all (nothing to run per mail)."""
    try:
        compiled = env.from_string(with_counted_loops(env.parse(source)))
    except TemplateSyntaxError as error:
        raise TemplateError(where, error.lineno, error.message or "not a valid template") from None
    except (RecursionError, MemoryError):
        raise TemplateError(where, None, "nested too deep to read") from None
    if not any(mark in source for mark in ("{{", "{%", "{#")):
        return str(compiled.render())  # what every mail would get (Jinja's newline rules included)
    return compiled


def _run(template: Any, values: dict[str, Any], where: str) -> str:
    """`template.render`, less its per-call copy of the globals (`values` holds them already;
    a template's own `set` writes to its context, never to `values`)."""
    if isinstance(template, str):
        return template
    chunks: list[str] = []
    size = 0
    try:
        for chunk in template.root_render_func(template.new_context(values, shared=True)):
            size += len(chunk)
            if size > TEMPLATE_OUTPUT_CHARS:
                raise TooCostlyError(f"it makes more than {TEMPLATE_OUTPUT_CHARS:,} characters")
            if len(chunk) >= CHUNK:
                spend(len(chunk) // CHUNK)
            chunks.append(chunk)
        return "".join(chunks)
    except UndefinedError as error:
        raise TemplateError(
            where, None, f"{error.message}; give it a default: {{{{ field | default('...') }}}}"
        ) from None
    except TooCostlyError as error:
        raise TemplateError(where, None, f"too costly for a mail: {error}") from None
    except SecurityError as error:
        raise TemplateError(where, None, f"not allowed in a template: {error}") from None
    except RecursionError:
        raise TemplateError(where, None, "too costly for a mail: macros call each other too deep") from None
    except (
        Exception
    ) as error:  # the template's own code failed ({{ 'a' - 1 }}, {% include %}): its author's to fix
        raise TemplateError(where, None, f"it failed: {type(error).__name__}: {error}"[:300]) from None
