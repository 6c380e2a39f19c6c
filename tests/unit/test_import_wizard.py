"""The console's import wizard over in-memory ports: upload, preview, the mapping the marketer
chooses, the start, and the import that follows it (GIVEN / WHEN / THEN)."""

import json
import unicodedata

import pytest

from chalicelib.domain.errors import BadInputError, NotFoundError
from chalicelib.domain.imports import ObjectCreated
from chalicelib.services.import_desk import ImportDesk
from tests.unit.test_import_file import World

CP932 = (
    "メールアドレス,氏名,会員ランク,メモ\r\n"
    "taro@example.jp,山田 太郎,ゴールド,髙橋さん紹介\r\n"
    "hanako@example.jp,佐藤 花子,シルバー,①\r\n"
).encode("cp932")


class Wizard(World):
    def __init__(self) -> None:
        super().__init__()
        self.desk = ImportDesk(self.files, self.clock, max_file_bytes=10_000_000)

    def upload(self, name: str, body: bytes) -> str:
        """What the console's page does: ask for a form, post the file with it."""
        form = self.desk.upload(name)
        self.files.post_form(form["fields"], body)
        return str(form["upload"])

    def import_started(self, name: str) -> dict:
        """What S3's notification and the importer do with the file the start copied."""
        found = self.files.head(f"imports/{name}")
        assert found is not None
        return self.deliver(ObjectCreated(found.key, found.etag, found.size, "001"))


def test_a_cp932_file_previews_with_its_encoding_rows_and_proposed_mapping():
    wizard = Wizard()
    upload = wizard.upload("会員.csv", CP932)

    shown = wizard.desk.preview(upload)

    assert (shown["name"], shown["encoding"], shown["delimiter"]) == ("会員.csv", "cp932", "comma")
    assert shown["rows"][0] == ["taro@example.jp", "山田 太郎", "ゴールド", "髙橋さん紹介"]
    assert [(c["header"], c["target"]) for c in shown["columns"]] == [
        ("メールアドレス", "email"),
        ("氏名", "name"),
        ("会員ランク", "attr:会員ランク"),
        ("メモ", "attr:メモ"),
    ]
    assert shown["columns"][1]["samples"] == ["山田 太郎", "佐藤 花子"]
    assert shown["has_email"] and shown["mapping_source"] == "automatic"
    assert shown["mapping_key"] == "mappings/会員.json"
    assert "imports/会員.csv" not in wizard.files.objects, "nothing is imported before the start"


def test_the_chosen_mapping_is_saved_as_the_files_own_and_the_import_follows_it():
    wizard = Wizard()
    upload = wizard.upload("会員.csv", CP932)

    started = wizard.desk.start(
        upload,
        {"メールアドレス": "email", "氏名": "name", "会員ランク": "customer_status", "メモ": None},
        "mk@x.jp",
    )

    saved = json.loads(wizard.files.objects["mappings/会員.json"])
    assert saved["columns"] == {
        "メールアドレス": "email",
        "氏名": "name",
        "会員ランク": "customer_status",
        "メモ": None,
    }
    assert saved["saved_by"] == "mk@x.jp"
    assert started == {
        "name": "会員.csv",
        "mapping_key": "mappings/会員.json",
        "report": "results/会員.csv.json",
    }
    assert not [k for k in wizard.files.objects if k.startswith("uploads/")], "the upload moved to imports/"
    assert wizard.desk.report("会員.csv") == {"file": "imports/会員.csv", "status": "queued"}

    report = wizard.import_started("会員.csv")

    assert (report["status"], report["created"], report["mapping_source"]) == (
        "imported",
        2,
        "mappings/会員.json",
    )
    taro = wizard.store.contact("taro@example.jp")
    assert taro["customer_status"] == "ゴールド"
    assert "メモ" not in taro.get("attrs", {}), "a skipped column is not imported"
    assert wizard.desk.report("会員.csv")["status"] == "imported"


def test_a_file_without_a_recognised_email_column_asks_for_one():
    wizard = Wizard()
    upload = wizard.upload("list.csv", b"Kontakt,Stufe\nanna@example.de,gold\n")

    shown = wizard.desk.preview(upload)
    assert not shown["has_email"]
    with pytest.raises(BadInputError, match="No column is mapped to email"):
        wizard.desk.start(upload, {"Kontakt": "attr:Kontakt"}, "mk@x.jp")

    wizard.desk.start(upload, {"Kontakt": "email", "Stufe": "attr:tier"}, "mk@x.jp")
    assert wizard.import_started("list.csv")["created"] == 1
    assert wizard.store.contact("anna@example.de")["attrs"] == {"tier": "gold"}


@pytest.mark.parametrize(
    ("columns", "problem"),
    [
        ({"email": "email", "mail2": "email"}, "'email' and 'mail2' both fill email"),
        ({"email": "email", "mail2": "shoe_size"}, "'shoe_size', which is not a field"),
        ({"email": "email", "nope": "name"}, "no column 'nope'"),
        (["email"], 'Send the mapping as {"columns"'),
    ],
)
def test_a_mapping_that_cannot_work_is_refused_with_its_reason(columns, problem):
    wizard = Wizard()
    upload = wizard.upload("two.csv", b"email,mail2\na@x.jp,b@x.jp\n")

    with pytest.raises(BadInputError, match=problem.replace("(", r"\(").replace("{", r"\{")):
        wizard.desk.start(upload, columns, "mk@x.jp")
    assert "imports/two.csv" not in wizard.files.objects and "mappings/two.json" not in wizard.files.objects


def test_a_broken_saved_mapping_is_set_aside_with_a_warning():
    wizard = Wizard()
    wizard.files.put("mappings/members.json", b"{not json")
    upload = wizard.upload("members.csv", b"email,name\na@x.jp,A\n")

    shown = wizard.desk.preview(upload)

    assert shown["mapping_source"] == "automatic"
    assert "mappings/members.json is not valid JSON" in shown["warnings"][0]


def test_a_large_file_previews_its_first_rows_only():
    wizard = Wizard()
    body = b"email,name\n" + b"".join(b"p%06d@x.jp,%s\n" % (i, b"N" * 40) for i in range(20_000))
    upload = wizard.upload("big.csv", body)

    shown = wizard.desk.preview(upload)

    assert shown["size"] == len(body) and len(shown["rows"]) == 10
    assert shown["rows"][9][0] == "p000009@x.jp"


def test_an_unreadable_file_is_named_as_such_before_anything_is_imported():
    wizard = Wizard()
    upload = wizard.upload("blob.csv", b"\x00\x01\x02" * 100)

    with pytest.raises(BadInputError, match="binary_file"):
        wizard.desk.preview(upload)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../etc/passwd.csv", "slashes"),
        ("sheet.xlsx", "Only .csv, .tsv and .txt"),
        (".hidden.csv", "start with a dot"),
        ("a\x00b.csv", "control characters"),
        ("x" * 200 + ".csv", "longer than 120"),
        (None, "Name the file"),
    ],
)
def test_an_upload_name_that_cannot_be_kept_is_refused(name, problem):
    with pytest.raises(BadInputError, match=problem):
        Wizard().desk.upload(name)


def test_a_name_from_a_mac_is_kept_composed():
    wizard = Wizard()
    decomposed = unicodedata.normalize("NFD", "データ.csv")

    assert wizard.desk.upload(decomposed)["name"] == "データ.csv"


def test_an_unknown_or_malformed_upload_is_refused():
    wizard = Wizard()
    with pytest.raises(NotFoundError, match="upload the file again"):
        wizard.desk.preview("0" * 24)
    with pytest.raises(BadInputError, match="24 hexadecimal"):
        wizard.desk.preview("../../imports")


def test_rejected_rows_have_a_download_link_and_the_history_lists_the_newest_first():
    wizard = Wizard()
    for name, body in (("first.csv", b"email\na@x.jp\n"), ("second.csv", b"email\nnot-an-address\nb@x.jp\n")):
        wizard.desk.start(wizard.upload(name, body), {"email": "email"}, "mk@x.jp")
        wizard.import_started(name)

    with pytest.raises(NotFoundError, match="rejected no rows"):
        wizard.desk.errors_link("first.csv")
    link = wizard.desk.errors_link("second.csv")
    history = wizard.desk.history()["imports"]

    assert "results/second.csv.errors.csv" in link and "as=second.errors.csv" in link
    assert [(h["name"], h["status"], h["created"], h["rejected"]) for h in history] == [
        ("second.csv", "imported", 1, 1),
        ("first.csv", "imported", 1, 0),
    ]
    with pytest.raises(NotFoundError):
        wizard.desk.report("never.csv")
