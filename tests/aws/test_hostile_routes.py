"""Every route of the API against generated hostile requests: wrong types, odd sizes and
encodings, junk path parameters and queries, tokens of the wrong purpose, with and without
the admin token.  The invariant: an answer below 500, and a refusal that says what is wrong."""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.tokens import sign
from tests.aws.test_beacons import auth
from tests.aws.test_scoring_segments import EXAMPLES, identify, load_examples, put_definition

SITE_ORIGIN = "https://shop.example.jp"


def _routes() -> list[tuple[str, str]]:
    import app as sodate

    return sorted((path, method) for path, methods in sodate.app.routes.items() for method in methods)


ROUTES = _routes()

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(
        ["", "0", "-1", "1e309", "NaN", "true", "\u0000", "\ud7ff" * 3, "\ud800", "a@b", "<script>x</script>"]
    ),
)
_json_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "email",
                    "name",
                    "site",
                    "u",
                    "k",
                    "p",
                    "order_id",
                    "items",
                    "at",
                    "kind",
                    "text",
                    "x",
                    "form",
                    "topics",
                    "ft",
                    "sodate_hp",
                    "attrs.favourite_tea",
                    "page",
                ]
            ),
            inner,
            max_size=5,
        ),
    ),
    max_leaves=12,
)


# Names that exist, by path parameter (so requests reach deep into each use case).
KINDS = ["catalogue", "scoring", "segments", "templates", "scenarios", "forms"]
KNOWN = {
    "kind": KINDS,
    "name": ["hot_leads", "mailable", "first_purchase", "birthday", "newsletter"],
    "job": ["tick", "sweep", "rfm", "dates"],
    "number": ["1", "2"],
    "visitor_id": ["device-ffff"],
}


def _damaged(text: str, cut: int, keep: int) -> bytes:
    """A definitions file with a stretch cut out: broken YAML, or valid YAML with parts missing."""
    cut %= max(len(text), 1)
    return (text[:cut] + text[cut + keep % 400 :]).encode()


_definitions = st.builds(
    _damaged,
    st.sampled_from([(EXAMPLES / f"{kind}.yaml").read_text() for kind in KINDS]),
    st.integers(min_value=0),
    st.integers(min_value=0),
)


_bodies = st.one_of(
    _definitions,
    _json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
    st.sampled_from(
        [b"", b"{", b"\xff\xfe\x00\x00", b"\xef\xbb\xbf{}", b"x" * 70_000, b'{"a":' * 20 + b"1" + b"}" * 20]
    ),
    st.text(max_size=200).map(lambda t: t.encode("utf-16")),
)
_junk = st.one_of(
    st.sampled_from(
        ["x", "0", "-1", "99999999999999999999", "a" * 3000, "..", "%2e%2e", "%00", "%20", "%C2%B2"]
    ),
    st.text(min_size=1, max_size=30).map(lambda t: quote(t, safe="")),
)
_content_types = st.sampled_from(
    [
        None,
        None,
        None,
        "application/json",
        "application/yaml",
        "text/plain",
        "text/csv",
        "image/gif",
        "application/x-www-form-urlencoded",
    ]
)


@pytest.fixture
def world(aws, api, site):
    """The shipped example definitions, a site and a person: ids that lead somewhere."""
    load_examples(aws, api)
    forms = (EXAMPLES / "forms.yaml").read_text().replace("site: localhost", "site: shop.example.jp")
    assert put_definition(api, aws, "forms", forms).status_code == 200
    contact_id = identify(api, site, "device-ffff", "ffff@example.com")
    known = {**KNOWN, "site_id": [site["site_id"]], "contact_id": [contact_id]}
    return {"known": known, "tokens": _wrong_purpose_tokens(aws)}


def _wrong_purpose_tokens(aws: dict[str, Any]) -> list[str]:
    """Tokens signed with the real link key, for every purpose but the route's, and stale ones."""
    key = aws["session"].client("secretsmanager").get_secret_value(SecretId=aws["LinkSigningKeySecret"])
    secret = key["SecretString"]
    soon, past = int(time.time()) + 3600, int(time.time()) - 10
    claims = [{"c": "c-1", "n": "n"}, {"unsub": "c-1#s#a#1"}, {"click": "c-1#s#a#1", "u": "https://e.x/"}]
    claims += [{"open": "c-1#s#a#1"}, {}, {"c": ["x"]}, {"unsub": 7}, {"s": "no-such-signup"}]
    claims += [{"f": "s#newsletter", "t": "1"}, {"c": "c-1", "n": "n", "v": "device-ffff"}]
    return [sign(c, secret, soon) for c in claims] + [sign(claims[1], secret, past)]


def _fill(path: str, known: dict[str, list[str]], picks: list[int | str], token: str | None) -> str:
    """The path with each parameter a known name (a pick that is a number) or junk."""
    parts = []
    for part in path.split("/"):
        if part.startswith("{") and part.endswith("}"):
            pick = picks.pop(0)
            if part == "{token}" and token is not None:
                part = quote(token, safe="")
            elif isinstance(pick, int) and part[1:-1] in known:
                options = known[part[1:-1]]
                part = options[pick % len(options)]
            else:
                part = str(pick)
        parts.append(part)
    return "/".join(parts)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(ROUTES),
    picks=st.lists(st.one_of(st.integers(min_value=0, max_value=9), _junk), min_size=3, max_size=3),
    token_index=st.integers(min_value=-1, max_value=10),
    admin=st.sampled_from([True, True, True, False]),
    content_type=_content_types,
    body=_bodies,
    query=st.dictionaries(
        st.sampled_from(["email", "limit", "cursor", "d", "q", "from", "to"]),
        st.text(max_size=20),
        max_size=3,
    ),
    origin=st.sampled_from([None, SITE_ORIGIN, "https://evil.example", "null"]),
)
def test_no_request_to_any_route_gets_a_500(
    aws, api, world, route, picks, token_index, admin, content_type, body, query, origin
):
    path, method = route
    token = world["tokens"][token_index] if token_index >= 0 else None
    url = _fill(path, world["known"], list(picks), token)
    if query:
        url += "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query.items())
    headers = {**(auth(aws) if admin else {}), **({"Content-Type": content_type} if content_type else {})}
    if origin:
        headers["Origin"] = origin
    sent = body if method in ("POST", "PUT", "PATCH") else None
    answer = api.http.request(method, url, body=sent or b"", headers=headers)

    assert answer.status_code < 500, (method, url, answer.body[:300])
    if answer.status_code >= 400 and answer.headers.get("Content-Type", "").startswith("application/json"):
        refusal = json.loads(answer.body)
        said = (
            refusal.get("Message") or refusal.get("message") or refusal.get("error") or refusal.get("errors")
        )
        assert said, (method, url, refusal)


def test_half_a_surrogate_pair_in_a_json_body_is_a_400_that_names_it(aws, api, site):
    # JSON's \u escapes can write half a pair; no UTF-8 store, mail or page can hold it
    headers = {**auth(aws), "Content-Type": "application/json", "Origin": SITE_ORIGIN}
    bodies = {
        "/f": f'{{"site": "{site["site_id"]}", "form": "x", "email": "a@example.jp", "name": "\\ud800"}}',
        "/admin/sites": '{"name": "\\udfff shop", "domains": ["shop.example.jp"]}',
    }
    for path, body in bodies.items():
        answer = api.http.post(path, body=body.encode(), headers=headers)
        assert answer.status_code == 400, (path, answer.body[:300])
        assert "half a surrogate pair" in answer.json_body["Message"]
    paired = '{"name": "\\ud83c\\udf75 shop", "domains": ["tea.example.jp"]}'  # 🍵, a whole pair
    assert api.http.post("/admin/sites", body=paired.encode(), headers=headers).status_code == 201


def test_a_form_post_too_large_not_utf8_or_with_too_many_fields_is_a_400_that_says_which(aws, api, site):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}  # as a page's own form posts
    wrong = {
        b"n=1&" * 120: "fields",  # every form here takes at most 100
        b"name=%ff%fe&email=a%40example.jp": "not UTF-8",  # the escape, not the bytes, is wrong
        b"name=\xff&email=a%40example.jp": "not UTF-8",
        b"name=" + b"x" * 70 * 1024: "larger than",
    }
    for path in ("/f", "/console/sign-in", "/line/link"):  # /p/{token}: test_preferences
        for body, named in wrong.items():
            answer = api.http.post(path, body=body, headers=headers)
            assert answer.status_code == 400, (path, body[:20], answer.status_code, answer.body[:200])
            assert named in answer.json_body["Message"], (path, answer.json_body)


def test_digits_python_reads_but_no_number_is_are_a_400_that_names_the_parameter(aws, api):
    # "²" and "٣" pass str.isdigit(), and int() refuses them, as it refuses over 4,300 digits
    for odd in ("%C2%B2", "%D9%A3", "9" * 4301):
        listed = api.http.get(f"/admin/contacts?limit={odd}", headers=auth(aws))
        assert listed.status_code == 400 and "limit must be a whole number" in listed.json_body["Message"]
        version = api.http.get(f"/admin/definitions/segments/versions/{odd}", headers=auth(aws))
        assert version.status_code == 400 and "version is a whole number" in version.json_body["Message"]


def test_a_page_cursor_the_api_did_not_give_out_is_a_400(aws, api):
    def cursor(key: object) -> str:
        return quote(base64.urlsafe_b64encode(json.dumps(key).encode()).decode())

    forged = [
        {"email": "x@example.com"},  # the right name, not a key's value
        {"email": {"S": ""}},
        {"email": {"N": "1"}},
        {"email": {"S": "x" * 1025}},
        {"email": {"S": "\ud800"}},  # half a surrogate pair, which JSON can write
    ]
    for key in forged:
        listed = api.http.get(f"/admin/contacts?cursor={cursor(key)}", headers=auth(aws))
        assert listed.status_code == 400, (key, listed.status_code, listed.body[:200])
        assert "cursor" in listed.json_body["Message"]
    real = api.http.get(
        f"/admin/contacts?cursor={cursor({'email': {'S': 'x@example.com'}})}", headers=auth(aws)
    )
    assert real.status_code == 200
