"""The people behind the overview's grid cells, and finding people by name: kept from the
contacts stream's images in the people index, read a page per shard."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.domain import people_index
from chalicelib.domain.people_index import BadCellError, entries, index_moves, name_key
from chalicelib.services.figures import Figures
from tests.fakes import FakeClock, MemoryFigureBook, MemoryPeople, MemoryPeopleIndex


def world() -> tuple[Figures, MemoryPeopleIndex, MemoryPeople, MemoryFigureBook]:
    book, index, people = MemoryFigureBook(), MemoryPeopleIndex(), MemoryPeople()
    clock = FakeClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    return Figures(book, index, people, clock), index, people, book


def person(people: MemoryPeople, n: int, **fields: Any) -> dict[str, Any]:
    return dict(people.add(f"p{n}@example.jp", f"c{n}", status="subscribed", **fields))


def test_a_grade_cell_lists_exactly_whom_its_gauge_counts_a_page_at_a_time():
    figures, _, people, book = world()
    images = [(None, person(people, n, grade="A1" if n % 3 else "B2")) for n in range(40)]
    figures.on_contacts(images, "batch-1")
    seen: list[str] = []
    cursor = None
    while True:
        page = figures.in_cell("grade:A1", 7, cursor)
        assert len(page["contacts"]) <= 7
        seen += [row["email"] for row in page["contacts"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(f"p{n}@example.jp" for n in range(40) if n % 3)
    assert len(seen) == len(set(seen)) == book.gauges()["grade:A1"], "the list and the gauge agree"
    first = figures.in_cell("grade:B2", 50, None)["contacts"][0]
    assert first["contact_id"].startswith("c") and first["grade"] == "B2" and first["status"] == "subscribed"


def test_a_person_moves_between_cells_once_however_often_a_batch_is_handed_over():
    figures, index, people, _ = world()
    before = person(people, 1, grade="D4", rfm="115")
    after = person(people, 1, grade="A1", rfm="545")
    figures.on_contacts([(None, before)], "b1")
    for _ in range(2):  # Lambda hands the batch over again after a failure
        figures.on_contacts([(before, after)], "b2")
    assert [r["email"] for r in figures.in_cell("grade:A1", 10, None)["contacts"]] == ["p1@example.jp"]
    assert figures.in_cell("grade:D4", 10, None)["contacts"] == []
    assert [r["email"] for r in figures.in_cell("rfm:54", 10, None)["contacts"]] == ["p1@example.jp"]
    assert figures.in_cell("rfm:11", 10, None)["contacts"] == []
    figures.on_contacts([(after, None)], "b3")  # erased
    assert not any(index.partitions.values()), "an erased person leaves no entry behind"


def test_the_first_and_last_image_of_one_person_in_a_batch_decide():
    puts, deletes = index_moves(
        [
            (None, {"email": "a@example.jp", "grade": "C3"}),
            ({"email": "a@example.jp", "grade": "C3"}, {"email": "a@example.jp", "grade": "B1"}),
        ]
    )
    assert deletes == set()
    assert {pk.rsplit("#", 1)[0] for pk, _ in puts} == {"x#grade:B1"}


def test_names_are_found_by_their_start_in_any_script_width_or_order():
    figures, _, people, _ = world()
    rows = [
        person(people, 1, last_name="山田", first_name="太郎", grade="A1"),
        person(people, 2, name="ヤマダ　ハナコ"),
        person(people, 3, name="Taro Suzuki"),
        person(people, 4, last_name="山本", first_name="一郎"),
    ]
    figures.on_contacts([(None, r) for r in rows], "b1")

    def found(typed: str) -> list[str]:
        return [row["email"] for row in figures.named(typed, 20)["contacts"]]

    assert found("山田") == ["p1@example.jp"]
    assert sorted(found("山")) == ["p1@example.jp", "p4@example.jp"]
    assert found("太郎") == ["p1@example.jp"], "the given name alone finds them too"
    assert found("やまだ") == ["p2@example.jp"], "katakana is found by hiragana"
    assert found("ﾔﾏﾀﾞ ﾊﾅ") == ["p2@example.jp"], "half-width and spaces do not matter"
    assert found("taro s") == ["p3@example.jp"] and found("TARO") == ["p3@example.jp"]
    assert found("suzuki") == ["p3@example.jp"] and found("ハナコ") == ["p2@example.jp"], "each word"
    assert found("   ") == [] and found("佐藤") == []
    assert figures.named("山田", 20)["contacts"][0]["name"] == "山田 太郎"


def test_a_name_search_returns_each_person_once_and_at_most_the_limit():
    figures, _, people, _ = world()
    rows = [person(people, n, name="佐藤 佐和子", last_name="佐藤", first_name="佐和子") for n in range(30)]
    figures.on_contacts([(None, r) for r in rows], "b1")
    found = [row["email"] for row in figures.named("佐", 20)["contacts"]]
    assert len(found) == len(set(found)) == 20


def test_a_renamed_person_is_found_under_the_new_name_only():
    figures, _, people, _ = world()
    before = person(people, 1, name="高橋 一")
    after = person(people, 1, name="渡辺 一")
    figures.on_contacts([(None, before)], "b1")
    figures.on_contacts([(before, after)], "b2")
    assert figures.named("高橋", 5)["contacts"] == []
    assert [r["email"] for r in figures.named("渡辺", 5)["contacts"]] == ["p1@example.jp"]


def test_an_entry_of_someone_erased_meanwhile_is_not_shown():
    figures, _, people, _ = world()
    figures.on_contacts([(None, person(people, 1, grade="A1")), (None, person(people, 2, grade="A1"))], "b1")
    del people.contacts["p1@example.jp"]
    assert [r["email"] for r in figures.in_cell("grade:A1", 10, None)["contacts"]] == ["p2@example.jp"]


@pytest.mark.parametrize("cell", ["grade:E1", "grade:", "rfm:60", "rfm:5", "segment:x", "", "grade:A1\n"])
def test_a_cell_that_is_not_on_the_grids_is_refused_by_name(cell: str):
    figures, _, _, _ = world()
    with pytest.raises(BadCellError, match="No such cell"):
        figures.in_cell(cell, 10, None)


def test_keys_spread_one_cell_over_the_shards():
    keys = {pk for n in range(400) for pk, _ in entries({"email": f"p{n}@example.jp", "grade": "D4"})}
    assert len(keys) == people_index.SHARDS
    assert name_key("ｱｲｳ・エオ") == "あいうえお"


def test_a_name_that_begins_another_of_the_persons_names_costs_no_entry_of_its_own():
    names = {sk.split(" ")[0] for pk, sk in entries({"email": "i@example.jp", "name": "伊藤 一郎"})}
    assert names == {"伊藤一郎", "一郎"}, "'伊藤' is found through '伊藤一郎'"
    western = {sk.split(" ")[0] for _, sk in entries({"email": "t@example.jp", "name": "Taro Suzuki"})}
    assert western == {"tarosuzuki", "suzuki"}


def test_a_renamed_person_indexed_with_every_name_before_leaves_none_of_them():
    figures, index, people, _ = world()
    before = person(people, 1, name="高橋 一郎")
    index.apply(entries(before, every=True), [])  # as entries were written before prefixes were dropped
    after = person(people, 1, name="渡辺 一郎")
    figures.on_contacts([(before, after)], "b1")
    assert figures.named("高橋", 5)["contacts"] == [] and figures.named("渡辺", 5)["contacts"] != []
    kept = {sk.split(" ")[0] for part in index.partitions.values() for sk in part}
    assert kept == {"渡辺一郎", "一郎"}
