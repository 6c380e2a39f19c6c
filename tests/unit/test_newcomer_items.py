"""A new person's item is built straight from their row (store/contact_codec.NewcomerItems),
sharing the wire forms of what repeats; it must be exactly the item of the contact that
`create` makes from the same row, whatever came before it in the file."""

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.contact import Source, create, newcomer, row_again
from chalicelib.domain.mapping import resolve_mapping
from chalicelib.domain.rows import ContactRow, RowParser
from chalicelib.store.contact_codec import NewcomerItems, from_item, to_item

HEADER = [
    "email",
    "age",
    "purchase_count",
    "birthday",
    "total_spent",
    "gender",
    "consent",
    "sms_consent",
    "last_name",
    "first_name",
    "company",
    "rank",
]
SOURCES = [
    Source("import:a.csv", "2026-12-01T00:00:00+00:00"),
    Source("import:b.csv", "2026-12-02T09:30:00+00:00"),
]

cells = st.one_of(
    st.sampled_from(
        ["", "34", "３４", "0", "7", "2024-01-31", "令和6年1月31日", "はい", "いいえ", "男", "¥1,500"]
    ),
    st.sampled_from(["12.50", "1e3", "A", "佐藤", "花子", "Smith", "  7  ", "yes", "no", "female"]),
    st.text(max_size=40),
)
rows = st.lists(
    st.tuples(st.lists(cells, min_size=len(HEADER) - 1, max_size=len(HEADER) - 1), st.sampled_from(SOURCES)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(rows=rows)
def test_a_newcomers_item_is_the_item_of_the_contact_made_from_the_same_row(rows):
    parser = RowParser(resolve_mapping(HEADER))
    items = NewcomerItems()  # one writer for the whole file, as the store keeps it
    for line, (cells_of_row, source) in enumerate(rows, start=2):
        values = [f"p{line}@example.com", *cells_of_row]
        row, twin = parser.parse(values, line), parser.parse(values, line)
        if not isinstance(row, ContactRow):
            continue
        assert isinstance(twin, ContactRow)
        item = items.item(newcomer(row, f"id{line}", source))
        assert item == to_item(create(twin, f"id{line}", source).contact)


@settings(max_examples=200, deadline=None)
@given(rows=rows)
def test_a_newcomer_whose_write_lost_gives_back_the_row_it_was_made_from(rows):
    """Its consent cells, which `newcomer` turned into a status and a permission, come back: the
    row is merged into whoever created the person first."""
    parser = RowParser(resolve_mapping(HEADER))
    for line, (cells_of_row, source) in enumerate(rows, start=2):
        values = [f"p{line}@example.com", *cells_of_row]
        row, twin = parser.parse(values, line), parser.parse(values, line)
        if isinstance(row, ContactRow):
            assert row_again(newcomer(row, f"id{line}", source)) == twin


def test_the_row_says_yes_no_or_nothing_and_the_item_says_so_with_where_and_when():
    parser = RowParser(resolve_mapping(["email", "consent", "age"]))
    items = NewcomerItems()
    source = SOURCES[0]
    said = {"はい": "subscribed", "いいえ": "unsubscribed", "": "pending"}
    for line, (cell, status) in enumerate(said.items(), start=2):
        row = parser.parse([f"p{line}@example.com", cell, "41"], line)
        assert isinstance(row, ContactRow)
        contact = from_item(items.item(newcomer(row, "c", source)))
        assert contact["status"] == status and contact["age"] == 41 and "consent" not in contact
        assert (contact.get("consent_source"), contact.get("consent_at")) == (
            (None, None) if status == "pending" else (source.name, source.at)
        )


def test_ever_new_numbers_and_long_texts_are_written_right_and_not_all_kept():
    parser = RowParser(resolve_mapping(["email", "purchase_count", "company"]))
    items = NewcomerItems()
    for n in range(6000):
        company = f"株式会社{n:05d}" + "商" * 40  # longer than any text kept
        row = parser.parse([f"p{n}@example.com", str(n), company], n + 2)
        assert isinstance(row, ContactRow)
        item = items.item(newcomer(row, "c", SOURCES[0]))
        assert item["purchase_count"] == {"N": str(n)} and item["company"] == {"S": company}
    assert len(items._numbers) <= 4096 and len(items._texts) == 0
