import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.emails import InvalidEmailError, email_hash, normalize_email


def test_case_variants_are_the_same_person():
    assert normalize_email("Taro.Yamada@Example.CO.JP") == "taro.yamada@example.co.jp"
    assert normalize_email("  taro.yamada@example.co.jp ") == "taro.yamada@example.co.jp"


def test_unicode_is_normalised_to_one_form():
    composed = "jos\u00e9@example.com"
    decomposed = "jose\u0301@example.com"
    assert normalize_email(composed) == normalize_email(decomposed)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "no-at-sign",
        "a@b",
        "a..b@example.com",
        "a@localhost",
        "a@example..com",
        "x@-bad.com",
        "@example.com",
    ],
)
def test_impossible_addresses_are_refused_with_a_reason(raw):
    with pytest.raises(InvalidEmailError) as error:
        normalize_email(raw)
    assert error.value.reason


def test_suppression_keeps_a_hash_not_the_address():
    digest = email_hash("a@example.com")
    assert "example" not in digest and len(digest) == 64
    assert digest == email_hash("a@example.com")


_local = st.text(alphabet="abcXYZ019._+-!#'", min_size=1, max_size=70)
_domain = st.sampled_from(
    [
        "example.com",
        "Example.CO.JP",
        "mail.test",
        "a-b.org",
        "xn--r8jz45g.jp",
        "例え.jp",
        "b..c.com",
        "localhost",
        "x.local",
        "1.2.3.4",
        "-x.com",
    ]
)


@settings(max_examples=400, deadline=None)
@given(local=_local, domain=_domain)
def test_fast_path_agrees_with_email_validator(local, domain):
    """The cached fast path must accept, refuse and normalise exactly like the library."""
    address = f"{local}@{domain}"
    try:
        expected = validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        expected = None
    try:
        actual = normalize_email(address)
    except InvalidEmailError:
        actual = None
    assert actual == expected
