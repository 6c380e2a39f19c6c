"""Mail templates cannot exhaust what renders them: hostile templates are refused when they
are defined, with the reason; a template that turns costly for one person's data fails that
mail alone; ordinary Jinja keeps working."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.definitions.compile import DefinitionsRejectedError, compile_set
from chalicelib.domain.definitions.source import load
from chalicelib.domain.mail.templates import MailTemplate, TemplateError
from chalicelib.services.mailer import Sent
from tests.unit.test_mailer import MAILING, World, action

SENDER = "sender:\n  name: Shop\n  postal_address: 1-2-3 Jingumae, Tokyo\n"
PERSON = {"email": "aiko@example.com", "name": "Aiko", "attrs": {"plan": "gold"}}

HOSTILE = [
    ("{{ email * 100000 }}", "repeating a value would make"),
    ("{{ 9 ** (9 ** 9) }}", "is bigger than 4096 bits"),
    (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "more work than one mail",
    ),
    (
        "{% set s = 'x' * 1000 %}{% for a in s %}{% for b in s %}{% for c in s %}{% endfor %}{% endfor %}{% endfor %}",
        "more work",
    ),
    ("{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}", "more work"),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "macros call each other too deep"),
    ("{{ 'x' | center(1000000000) }}", "too big for a count or width"),
    ("{{ 'ab' | replace('a', 'x' * 200000) | replace('x', 'yy') }}", "replace would make"),
    ("{{ '%0999999999d' % 1 }}", "formatting with % would make"),
    ("{{ '{:>999999999}'.format(1) }}", "format() would make"),
    ("{{ 'a\\tb'.expandtabs(8) }}", "expandtabs() is not allowed"),
    ("{{ range(20000) | list | join('-' * 20) }}", "join would make"),
    ("{{ range(100000) | list }}", "a value of over 262,144 characters"),
    ("{% set x = [1] * 6000 %}{% set y = [x] * 6000 %}{{ y }}", "repeating a value would make"),
    (
        "{% set x = [email] * 1000 %}{% set y = [x, x, x, x, x, x, x, x, x, x] %}{{ [y, y, y, y] }}",
        "over 262,144",
    ),
    ("{% set x = [1] * 6000 %}{{ '%s' % ([x] * 100,) }}", "repeating a value would make"),
    ("{% set x = [1] * 30000 %}{{ '%s %s' % (x, x) }}", "a value of over 262,144"),  # the tuple
    ("{{ ('%(a)s' * 40000) % {'a': 'x' * 6000} }}", "formatting with % would make"),
    ("{{ ('%(a)s' * 40000) | format(a='x' * 6000) }}", "format would make"),
    ("{{ ('{0}' * 40000).format('x' * 6000) }}", "format() would make"),
    ("{{ ('{a}' * 40000).format(a='x' * 6000) }}", "format() would make"),
    ("{% set x = [1] * 30000 %}{{ '%s %s %s %s' | format(x, x, x, x) }}", "format would make"),
    ("{% set x = [1] * 30000 %}{{ '{}{}{}{}'.format(x, x, x, x) }}", "format() would make"),
    (
        "{% set x = [1] * 30000 %}{% set y = x + [] %}{% for i in range(100000) %}{% if x == y %}{% endif %}{% endfor %}",
        "more work",
    ),
    ("{{ range(100000) | map('string') | join('-') }}", "too costly for a mail"),
    (
        "{% set ns = namespace(x=2) %}{% for i in range(20) %}{% set ns.x = ns.x * ns.x %}{% endfor %}{{ ns.x }}",
        "over 4096 bits",
    ),
    ("{{ lipsum(100000) }}", "'lipsum' is undefined"),
    ("{{ 1 / 0 }}", "division by zero"),
    ("{{ email - 1 }}", "TypeError"),
    ("{% include 'other.html' %}", "no loader"),
    ("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", "nested too deep"),
    ("{{ ''.__class__.__mro__ }}", "not allowed in a template"),
]


@pytest.mark.parametrize(("html", "words"), HOSTILE)
def test_a_hostile_template_is_refused_when_it_is_defined_with_the_reason(html, words):
    text = (
        SENDER
        + "templates:\n  - name: bad\n    subject: Hello\n    html: "
        + _quoted(html)
        + "\n    text: plain\n"
    )
    with pytest.raises(DefinitionsRejectedError) as refused:
        compile_set({"templates": load(text.encode(), "templates.yaml")})
    [issue] = refused.value.issues
    assert (issue.line, issue.field) == (7, "templates[0].html")
    assert words in issue.message, issue.message


def test_ordinary_jinja_still_works():
    template = MailTemplate(
        "{{ name | default('there') | upper }}",
        "{% macro item(x) %}<li>{{ x }}</li>{% endmacro %}<ul>{% for i in range(3) %}{{ item(i * 2) }}"
        "{% endfor %}</ul>{{ '%05d' | format(42) }} {{ '{} / {}'.format(attrs.plan, 2 ** 10) }}"
        " {{ ['a', 'b'] | join(', ') }} {{ 'tea' | replace('t', 'T') | center(7) }}",
        "{% for k, v in attrs | dictsort %}{{ k }}={{ v }}{% if not loop.last %},{% endif %}{% endfor %}",
    )
    mail = template.render(PERSON)
    assert mail.subject == "AIKO"
    assert mail.html == "<ul><li>0</li><li>2</li><li>4</li></ul>00042 gold / 1024 a, b   Tea  "
    assert mail.text == "plan=gold"


def test_the_budget_is_per_mail_so_each_mail_starts_afresh():
    template = MailTemplate("s", "{% for i in range(30000) %}{% endfor %}done", "t")
    assert [template.render(PERSON).html for _ in range(5)] == ["done"] * 5


_DATA_DEPENDENT = SENDER + (
    "templates:\n  - name: notes\n    subject: Hello\n    text: plain\n    html: >-\n"
    "      {% set n = attrs.notes | default('') %}{% for a in n %}{% for b in n %}{% for c in n %}"
    "{% endfor %}{% endfor %}{% endfor %}Hi {{ name | default('') }}\n"
)


def test_a_template_that_turns_costly_for_one_person_fails_that_mail_and_the_next_goes():
    mailing = compile_set({"templates": load(_DATA_DEPENDENT.encode(), "templates.yaml")}).mailing
    world = World()
    world.people.add("ken@example.com", "c-ken", name="Ken", status="subscribed", attrs={"notes": "x" * 200})
    ken = world.people.by_email("ken@example.com")
    aiko = world.people.by_email("aiko@example.com")
    assert ken is not None and aiko is not None
    ken_action = action("thanks", "notes").__class__("send", "thanks", "notes", "c-ken#s#thanks#1", "s")

    assert world.mailer.send(ken_action, ken, mailing, world.now(), "", (1, 24)) == Sent("failed")
    ledger = world.journeys.action("c-ken", ken_action.key)
    assert ledger is not None and ledger["status"] == "failed"
    assert "html: too costly for a mail: it does more work than one mail may" in ledger["reason"]
    assert world.journeys.mail_times("c-ken") == [], "a mail that never went takes no place under the cap"
    assert (
        world.mailer.send(action("thanks", "notes"), aiko, mailing, world.now(), "", None).outcome == "sent"
    )
    assert [to for to, _ in world.transport.sent] == ["aiko@example.com"]
    assert world.mailer.send(ken_action, ken, mailing, world.now(), "", None) == Sent("duplicate"), (
        "not retried"
    )
    assert MAILING.templates, "the shared example mailing is untouched"


_pieces = st.sampled_from(
    [
        "{{ email }}",
        "{{ email * 1000 }}",
        "{{ 2 ** 4000 }}",
        "{% for i in range(100000) %}{{ i }}{% endfor %}",
        "{% for i in range(300) %}{% for j in range(300) %}.{% endfor %}{% endfor %}",
        "{{ email | replace('e', email * 50) }}",
        "{{ (email * 200) | indent(2000) }}",
        "{{ range(5000) | list | join(email) }}",
        "{{ '%2000s' % email }}",
        "{{ email.center(100000) }}",
        "x" * 500,
    ]
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_pieces, min_size=1, max_size=6).map("".join))
def test_any_mix_of_costly_pieces_renders_within_the_limits_or_is_refused(html):
    try:
        mail = MailTemplate("s", html, "t").render(PERSON)
    except TemplateError as refused:
        assert "too costly for a mail" in str(refused)
        return
    assert len(mail.html) <= 256 * 1024


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
