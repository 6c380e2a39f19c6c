"""Phone numbers read as SMS needs them, and texts counted in the parts carriers bill."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.phones import BadPhoneError, e164, takes_sms
from chalicelib.domain.sms_text import A_PART, size


@pytest.mark.parametrize(
    "written",
    [
        "090-1234-5678",
        "０９０（１２３４）５６７８",
        "+81 90 1234 5678",
        "09012345678",
        "0081-90-1234-5678",
        "010 81 90 1234 5678",
    ],
)
def test_a_japanese_mobile_number_written_any_usual_way_is_one_e164_number(written):
    assert e164(written) == "+819012345678"
    assert takes_sms(e164(written))


def test_a_number_is_read_in_the_senders_country_unless_it_names_its_own():
    assert e164("03-1234-5678") == "+81312345678"
    assert not takes_sms("+81312345678"), "a Tokyo landline takes no SMS"
    assert not takes_sms(e164("050-1234-5678")), "nor an IP phone"
    assert e164("(212) 555-0100", "US") == "+12125550100" == e164("1 212 555 0100", "US")
    assert e164("020 7946 0018", "GB") == "+442079460018"
    assert e164("+44 20 7946 0018", "JP") == "+442079460018" and takes_sms("+442079460018")


@pytest.mark.parametrize(
    "written",
    ["", "   ", "090-1234", "abc", "+0 90 1234 5678", "+8190123456789012345", "090-1234-5678 ext 2"],
)
def test_what_is_not_a_phone_number_is_refused_by_name(written):
    with pytest.raises(BadPhoneError):
        e164(written)


def test_an_unknown_country_is_named():
    with pytest.raises(BadPhoneError, match="calling code"):
        e164("090-1234-5678", "XX")


def test_gsm_text_takes_160_in_one_part_and_153_a_part_after():
    assert size("a" * 160) == ("GSM-7", 160, 1)
    assert size("a" * 161) == ("GSM-7", 161, 2)
    assert size("a" * 306).parts == 2 and size("a" * 307).parts == 3
    assert size("{" * 80) == ("GSM-7", 160, 1), "an extension character is two septets"
    assert size("a" * 152 + "€" + "a" * 152).parts == 3, "an escape pair is not split: 306 septets, 3 parts"


def test_japanese_makes_the_whole_text_ucs2_70_in_one_part_67_a_part_after():
    assert size("ご注文ありがとうございます") == ("UCS-2", 13, 1)
    assert size("あ" * 70).parts == 1 and size("あ" * 71).parts == 2
    assert size("Sale! 本日限り " + "a" * 60).encoding == "UCS-2"
    assert size("😀" * 35) == ("UCS-2", 70, 1), "an emoji is two UTF-16 units"
    assert size("あ" * 69 + "😀").parts == 2
    assert size("あ" * 66 + "😀" + "あ" * 66).parts == 3, "a surrogate pair is not split: 134 units, 3 parts"


@given(st.text(max_size=1200))
def test_parts_always_hold_the_text_and_no_more_parts_than_needed(text):
    counted = size(text)
    if counted.parts > 1:
        per = A_PART[counted.encoding]
        assert (counted.parts - 1) * per < counted.units <= counted.parts * per
    assert counted.parts == 0 or counted.units > 0


@given(st.text(alphabet="0123456789+-() ０１２３４５６７８９", max_size=24))
def test_a_number_read_once_reads_the_same_again_and_anything_else_is_refused_cleanly(written):
    try:
        number = e164(written)
    except BadPhoneError:
        return
    assert e164(number) == number and number.startswith("+") and number[1:].isdigit()
