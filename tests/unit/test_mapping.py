import pytest

from chalicelib.domain.mapping import MappingError, resolve_mapping


def targets(headers, saved=None):
    return [c.target for c in resolve_mapping(headers, saved, "mappings/x.json").columns]


def test_english_and_japanese_synonyms_ignore_case_and_spacing():
    assert targets(["E-Mail", "Full Name", "COMPANY_NAME", "Phone Number", "Total Spent"]) == [
        "email",
        "name",
        "company",
        "phone",
        "total_spent",
    ]
    assert targets(
        ["メールアドレス", "姓", "名", "年齢", "性別", "会社名", "電話番号", "購入回数", "最終購入日"]
    ) == [
        "email",
        "last_name",
        "first_name",
        "age",
        "gender",
        "company",
        "phone",
        "purchase_count",
        "last_purchase_date",
    ]
    assert targets(["ＥＭＡＩＬ", "お名前"]) == ["email", "name"]


def test_unknown_columns_become_custom_attributes():
    assert targets(["email", "好きな色", "  Plan  Tier "]) == ["email", "attr:好きな色", "attr:Plan Tier"]


def test_a_field_is_filled_by_one_column_and_the_report_says_so():
    mapping = resolve_mapping(["email", "メール", "name"])
    assert [c.target for c in mapping.columns] == ["email", "attr:メール", "name"]
    assert "メール" in mapping.warnings[0]


def test_a_saved_mapping_overrides_column_by_column():
    saved = {"columns": {"Contact": "email", "Notes": None, "Tier": "attr:plan", "Email": "attr:old_email"}}
    assert targets(["Contact", "Notes", "Tier", "Email", "Name"], saved) == [
        "email",
        "ignore",
        "attr:plan",
        "attr:old_email",
        "name",
    ]
    assert resolve_mapping(["Contact"], saved, "mappings/x.json").source == "mappings/x.json"


def test_a_saved_mapping_with_an_unknown_field_is_refused_by_name():
    with pytest.raises(MappingError, match=r"'Points'.*'score'"):
        resolve_mapping(["email", "Points"], {"columns": {"Points": "score"}})
    with pytest.raises(MappingError, match="columns"):
        resolve_mapping(["email"], {"cols": {}})
