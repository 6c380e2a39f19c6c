"""The CSV reader and importer against generated hostile files: odd encodings, stray bytes,
unbalanced quotes, NULs, huge cells, ragged rows.  Each file ends in a report -- `imported`
with every row accounted for and every rejected row named by line and reason, or `failed`
with a reason and a message -- and nothing raises, hangs or stores an invalid address."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.emails import InvalidEmailError, normalize_email
from tests.unit.test_import_file import World

_cells = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "taro@example.com",
            "Hanako@Example.JP",
            "山田 太郎",
            "not-an-email",
            '"',
            '""',
            "a,b",
            "line\nbreak",
            "\r",
            "\x00",
            "=HYPERLINK(1)",
            "\ufeff",
            "x" * 5000,
            "33",
            "-1",
            "2024/1/5",
            "令和6年1月31日",
            "はい",
        ]
    ),
)
_headers = st.one_of(
    st.just(["email", "name", "age"]),
    st.just(["メールアドレス", "氏名", "年齢", "メルマガ"]),
    st.lists(_cells, min_size=1, max_size=5),
)
_codecs = st.sampled_from(["utf-8", "utf-8-sig", "cp932", "utf-16", "euc-jp", "latin-1"])


@st.composite
def hostile_files(draw: st.DrawFn) -> bytes:
    header = draw(_headers)
    rows = draw(st.lists(st.lists(_cells, min_size=0, max_size=len(header) + 2), max_size=12))
    out = io.StringIO()
    writer = csv.writer(
        out, lineterminator=draw(st.sampled_from(["\r\n", "\n", "\r"])), quoting=csv.QUOTE_MINIMAL
    )
    writer.writerow(header)
    writer.writerows(rows)
    text = out.getvalue()
    if draw(st.booleans()):  # a careless hand: a quote left open, or a line cut short
        cut = draw(st.integers(min_value=0, max_value=len(text)))
        text = text[:cut] + draw(st.sampled_from(['"', '"\n', "\x00", ",,,,", ""])) + text[cut:]
    data = text.encode(draw(_codecs), errors="replace")
    if draw(st.booleans()):  # stray bytes: a file damaged in transit
        at = draw(st.integers(min_value=0, max_value=len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    return data


def _valid(address: str) -> bool:
    try:
        return normalize_email(address) == address
    except InvalidEmailError:
        return False


@settings(max_examples=150, deadline=None)
@given(hostile_files())
def test_any_file_ends_in_a_report_that_accounts_for_every_row(data):
    world = World()
    report = world.deliver(world.drop("hostile.csv", data))

    assert report["status"] in ("imported", "failed"), report
    if report["status"] == "failed":
        assert report["error"]["reason"] and report["error"]["message"]
        assert world.store.items == {}, "a failed file imports nothing"
        return
    counted = (
        report["created"]
        + report["updated"]
        + report["unchanged"]
        + report["rejected"]
        + report["duplicates"]
    )
    assert counted == report["rows"], report
    assert sum(report["rejected_by_reason"].values()) == report["rejected"]
    if report["rejected"]:
        errors = world.errors("imports/hostile.csv")
        assert errors[0][:4] == ["line", "column", "reason", "message"]
        assert len(errors) - 1 == report["rejected"]
        assert all(row[0].isdigit() and row[2] and row[3] for row in errors[1:])
    assert all(_valid(email) for email in world.store.items)


def test_a_utf16_file_cut_mid_character_or_holding_half_a_surrogate_pair_spoils_only_that_row():
    good = "email,name\r\ntaro@example.com,太郎\r\n".encode("utf-16")
    half_pair = "hanako@example.com,花子".encode("utf-16-le") + b"\x00\xd8" + "\r\n".encode("utf-16-le")
    for data in (good + "jiro@example.com,次郎".encode("utf-16-le") + b"\x00", good + half_pair):
        world = World()
        report = world.deliver(world.drop("wide.csv", data))
        assert (report["status"], report["created"], report["rejected"]) == ("imported", 1, 1), report
        assert report["rejected_by_reason"] == {"encoding": 1}
        [_, spoilt] = world.errors("imports/wide.csv")
        assert spoilt[0] == "3" and spoilt[2] == "encoding"
