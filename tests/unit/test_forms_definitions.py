"""forms.yaml: checked with the templates in force, every issue named by line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.domain.definitions.compile import DefinitionsRejectedError, compile_set
from chalicelib.domain.definitions.source import load

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config"
TEMPLATES = (EXAMPLES / "templates.yaml").read_text()
FORM = """forms:
  - name: signup
    site: shop.example.jp
    topics: [newsletter]
    consent: 受け取ります
"""


def compiled(forms: str, templates: str = TEMPLATES):
    return compile_set({"templates": load(templates, "templates.yaml"), "forms": load(forms, "forms.yaml")})


def issues(forms: str, templates: str = TEMPLATES) -> list[tuple[int | None, str, str]]:
    with pytest.raises(DefinitionsRejectedError) as raised:
        compiled(forms, templates)
    return [(i.line, i.field, i.message) for i in raised.value.issues]


def test_the_shipped_form_compiles_with_its_confirmation_template():
    forms = compiled((EXAMPLES / "forms.yaml").read_text()).forms
    newsletter = forms.forms["newsletter"]
    assert [f.name for f in newsletter.fields] == ["email", "name", "attrs.favourite_tea"]
    assert newsletter.fields[2].kind == "select" and "玉露" in newsletter.fields[2].options
    assert newsletter.topics == ("newsletter", "offers") and newsletter.confirmation == "newsletter_confirm"
    assert (
        newsletter.consent.get("en").startswith("I agree")
        and newsletter.heading("ja") == "育て茶舗ニュースレター"
    )
    assert newsletter.wording_id("ja") != newsletter.wording_id("en")


def test_a_minimal_form_gets_an_email_field_and_defaults():
    form = compiled(FORM).forms.forms["signup"]
    assert [(f.name, f.required) for f in form.fields] == [("email", True)]
    assert form.opt_in == "double" and form.confirmation is None and form.language == "ja"


@pytest.mark.parametrize(
    ("change", "line", "field", "message"),
    [
        ("    topics: [newsletter, sales]\n", 4, "forms[0].topics[1]", "no topic 'sales'"),
        ("    confirmation: thank_you\n", 6, "forms[0].confirmation", "no template 'thank_you'"),
        (
            "    fields: [{name: email, required: false}]\n",
            6,
            "forms[0].fields[0].required",
            "email is always",
        ),
        ("    fields: [{name: password}]\n", 6, "forms[0].fields[0].name", "or attrs.<key>"),
        ("    opt_in: maybe\n", 6, "forms[0].opt_in", "expected double"),
        ("    redirect: javascript:alert(1)\n", 6, "forms[0].redirect", "http(s) address"),
        ("    colour: red\n", 6, "forms[0].colour", "unexpected key"),
    ],
)
def test_a_broken_form_is_refused_at_its_line(change, line, field, message):
    text = FORM.replace("    topics: [newsletter]\n", change) if "topics" in change else FORM + change
    found = issues(text)
    assert [(where_line, where) for where_line, where, _ in found] == [(line, field)], found
    assert message in found[0][2]


def test_a_form_needs_its_consent_wording():
    found = issues(FORM.replace("    consent: 受け取ります\n", ""))
    assert found == [(2, "forms[0].consent", "every form shows the consent wording it asks for")]


def test_a_confirmation_template_must_show_the_confirm_link_and_no_scenario_may_send_it():
    without_link = TEMPLATES.replace("{{ confirm_url }}", "https://shop.example.jp/")
    found = issues((EXAMPLES / "forms.yaml").read_text(), without_link)
    assert found[0][1] == "forms[0].confirmation" and "confirm_url" in found[0][2]
    scenarios = "scenarios:\n  - name: s\n    entry: {event: signup}\n    steps:\n      - {id: a, send: newsletter_confirm}\n"
    with pytest.raises(DefinitionsRejectedError, match="no template named 'newsletter_confirm'"):
        compile_set(
            {"templates": load(TEMPLATES, "templates.yaml"), "scenarios": load(scenarios, "scenarios.yaml")}
        )


def test_a_marketing_template_cannot_use_the_confirm_link():
    bad = TEMPLATES.replace("<p>はじめてのご購入", "<p>{{ confirm_url }}はじめてのご購入", 1)
    with pytest.raises(DefinitionsRejectedError, match="confirm_url"):
        compile_set({"templates": load(bad, "templates.yaml")})
