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


def test_a_token_signed_by_sodate_is_accepted_only_for_its_own_purpose():
    from chalicelib.domain.tokens import CLICK, IDENTITY, OPEN, UNSUBSCRIBE

    key, later = "k" * 32, 2_000_000_000
    tokens = {
        IDENTITY: sign({"c": "c123", "n": "f00d"}, key, later),
        CLICK: sign({"m": "c123#welcome#hello#1", "u": "https://shop.example.jp/"}, key, later),
        OPEN: sign({"m": "c123#welcome#hello#1"}, key, later),
        UNSUBSCRIBE: sign({"unsub": "c123#welcome#hello#1"}, key, later),
    }
    for purpose, token in tokens.items():
        assert verify(token, key, 1_900_000_000, purpose)
        for other in set(tokens) - {purpose}:
            with pytest.raises(InvalidTokenError, match="for another purpose"):
                verify(token, key, 1_900_000_000, other)
    with pytest.raises(InvalidTokenError, match="for another purpose"):  # a purpose's claim left empty
        verify(sign({"c": "", "n": "f00d"}, key, later), key, 1_900_000_000, IDENTITY)
