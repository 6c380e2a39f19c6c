import pytest

from chalicelib.domain.tokens import InvalidTokenError, bearer_matches, sign, verify

KEY = "k" * 40


def test_a_signed_token_round_trips_until_it_expires():
    token = sign({"c": "contact-1"}, KEY, expires_at=1000)
    assert verify(token, KEY, now=999)["c"] == "contact-1"
    with pytest.raises(InvalidTokenError) as error:
        verify(token, KEY, now=1001)
    assert error.value.reason == "expired"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-3],  # truncated signature
        lambda t: t.split(".")[0],  # no signature
        lambda t: "x" + t,  # claims tampered
        lambda t: (
            t.split(".")[0] + "." + sign({"c": "other"}, KEY, 10**12).split(".")[1]
        ),  # borrowed signature
        lambda t: t.replace(".", ".."),
        lambda t: 12345,
        lambda t: "é." + t,
    ],
)
def test_forged_or_truncated_tokens_are_refused(mangle):
    token = sign({"c": "contact-1"}, KEY, expires_at=10**12)
    with pytest.raises(InvalidTokenError):
        verify(mangle(token), KEY, now=0)


def test_another_key_is_a_bad_signature():
    with pytest.raises(InvalidTokenError) as error:
        verify(sign({"c": "x"}, "other-key", 10**12), KEY, now=0)
    assert error.value.reason == "bad_signature"


def test_bearer_header():
    assert bearer_matches("Bearer abc", "abc") and bearer_matches("bearer  abc ", "abc")
    assert not bearer_matches("abc", "abc") and not bearer_matches("Bearer abd", "abc")
    assert not bearer_matches(None, "abc") and not bearer_matches("Bearer ", "")
