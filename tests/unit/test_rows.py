"""RowParser remembers what each typed column's cells parsed to; a row's verdict must not
depend on what came before it in the file."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.mapping import resolve_mapping
from chalicelib.domain.rows import MEMO_ENTRIES, ContactRow, Rejection, RowParser

HEADER = ["email", "age", "birthday", "total_spent", "gender", "consent", "name", "rank"]


def verdict(parsed: ContactRow | Rejection) -> tuple:
    if isinstance(parsed, Rejection):
        return ("rejected", parsed.line, parsed.column, parsed.reason, parsed.message)
    return ("imported", parsed.line, parsed.email, parsed.fields, parsed.attrs)


def test_the_same_bad_date_is_rejected_every_time_it_appears_naming_its_column():
    parser = RowParser(resolve_mapping(HEADER))
    rows = [["a@example.com", "30", "2024-02-30"], ["b@example.com", "31", "2024-02-30"]]
    verdicts = [verdict(parser.parse(row, line)) for line, row in enumerate(rows, start=2)]
    assert verdicts == [
        ("rejected", 2, "birthday", "invalid_date", "'2024-02-30' is not a real calendar date."),
        ("rejected", 3, "birthday", "invalid_date", "'2024-02-30' is not a real calendar date."),
    ]


def test_repeated_cells_give_the_same_clean_values_spaces_and_all():
    parser = RowParser(resolve_mapping(HEADER))
    first = parser.parse(["a@example.com", " 34 ", "2024/1/5", "1,200円", "女", "はい", "花子", "A"], 2)
    again = parser.parse(["b@example.com", " 34 ", "2024/1/5", "1,200円", "女", "はい", "花子", "A"], 3)
    blank = parser.parse(["c@example.com", " ", "", "  ", "", "", "", ""], 4)
    for row in (first, again):
        assert isinstance(row, ContactRow)
        assert row.fields == {
            "age": 34,
            "birthday": "2024-01-05",
            "total_spent": Decimal("1200"),
            "gender": "female",
            "consent": True,
            "name": "花子",
        }
    assert isinstance(blank, ContactRow) and blank.fields == {} and blank.attrs == {}


cells = st.one_of(
    st.sampled_from(["", " ", "34", "３４", "-1", "x", "2024-01-31", "令和6年1月31日", "2024-13-01", "はい"]),
    st.sampled_from(["maybe", "男", "1,000", "¥500", "1e400", "NaN", "20240131", "R6.1.31", "  7  "]),
    st.text(max_size=6),
)
rows = st.lists(st.lists(cells, min_size=1, max_size=len(HEADER) + 1), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(rows=rows)
def test_a_parser_that_has_seen_other_rows_answers_as_a_fresh_one(rows):
    shared = RowParser(resolve_mapping(HEADER))
    for line, cells_of_row in enumerate(rows, start=2):
        row = ["p@example.com", *cells_of_row[1:]]
        assert verdict(shared.parse(row, line)) == verdict(
            RowParser(resolve_mapping(HEADER)).parse(row, line)
        )


def test_a_column_of_ever_new_values_does_not_grow_without_bound():
    parser = RowParser(resolve_mapping(["email", "total_spent"]))
    for n in range(MEMO_ENTRIES + 500):
        row = parser.parse(["a@example.com", str(n)], n + 2)
        assert isinstance(row, ContactRow) and row.fields == {"total_spent": Decimal(n)}
    assert all(len(memo) <= MEMO_ENTRIES for _, _, memo in parser._plan)
