from decimal import Decimal

from cfnlint.decode import cfn_yaml

from chalicelib.store.contact_codec import from_item, to_item
from chalicelib.store.models import ContactModel, ImportModel, SuppressionModel
from devstack.cloudformation import TEMPLATE

FULL = {
    "email": "a@example.com",
    "contact_id": "c1",
    "status": "subscribed",
    "source": "import:x.csv",
    "created_at": "2026-01-01T00:00:00+00:00",
    "updated_at": "2026-01-02T00:00:00+00:00",
    "consent_source": "import:x.csv",
    "consent_at": "2026-01-01T00:00:00+00:00",
    "name": "山田 太郎",
    "last_name": "山田",
    "first_name": "太郎",
    "company": "Acme",
    "phone": "090",
    "age": 33,
    "gender": "male",
    "birthday": "1990-01-01",
    "customer_status": "vip",
    "purchase_count": 4,
    "first_purchase_date": "2023-02-01",
    "last_purchase_date": "2024-01-05",
    "last_product": "COFFEE-200",
    "check_shard": "7",
    "check_at": "2026-12-01T00:00:00+00:00",
    "total_spent": Decimal("12000.50"),
    "language": "ja",
    "timezone": "Asia/Tokyo",
    "attrs": {"好きな色": "青"},
}


def test_the_fast_codec_writes_exactly_what_the_model_writes():
    assert to_item(FULL) == ContactModel(**FULL).serialize()
    assert from_item(to_item(FULL)) == FULL


def test_every_model_attribute_is_known_to_the_codec():
    model_fields = set(ContactModel.get_attributes())
    assert model_fields == set(FULL), "a new ContactModel attribute needs a codec test row"


def test_tables_in_the_template_have_the_models_keys_and_indexes():
    resources = cfn_yaml.loads(TEMPLATE.read_text())["Resources"]
    for logical, model in (
        ("ContactsTable", ContactModel),
        ("SuppressionsTable", SuppressionModel),
        ("ImportsTable", ImportModel),
    ):
        props = resources[logical]["Properties"]
        hash_key = next(k["AttributeName"] for k in props["KeySchema"] if k["KeyType"] == "HASH")
        assert hash_key == model._hash_keyname
        template_indexes = {
            i["IndexName"]: i["KeySchema"][0]["AttributeName"]
            for i in props.get("GlobalSecondaryIndexes", [])
        }
        model_indexes = {
            i.Meta.index_name: i._hash_key_attribute().attr_name for i in model._indexes.values()
        }
        assert template_indexes == model_indexes


def test_what_evaluation_keeps_on_a_contact_round_trips_through_the_codec():
    from chalicelib.store.contact_codec import from_item, to_item

    contact = {
        "email": "a@example.com",
        "contact_id": "c1",
        "attrs": {},
        "segments": ["hot_leads", "prospects"],
        "scores": {
            "interest": {
                "v": Decimal("59.9999"),
                "at": "2026-11-23T00:00:00+00:00",
                "caps": {"p": ["9", Decimal("60")]},
            }
        },
        "scored_version": 3,
        "products": {"TEA-100": "2026-11-01"},
    }
    assert from_item(to_item(contact)) == contact


def test_the_codec_drops_empty_values_and_writes_numbers_kept_as_text_as_numbers():
    contact = {"email": "a@example.com", "age": "41", "total_spent": None, "attrs": {}, "phone": None}
    assert to_item(contact) == {"email": {"S": "a@example.com"}, "age": {"N": "41"}}


def test_the_consent_ledger_keeps_each_entry_s_channel_and_an_email_entry_as_it_always_was(aws):
    import boto3

    from chalicelib.domain.consent import ConsentEntry
    from chalicelib.store.consent import DynamoConsentLedger, ledger_item

    mailed = ConsentEntry("2026-01-01T00:00:00+00:00", "granted", "import", "import", "subscribed")
    lined = ConsentEntry(
        "2026-01-02T00:00:00+00:00",
        "granted",
        "line",
        "person",
        "granted",
        {"line_user_id": "U1"},
        channel="line",
    )
    assert "channel" not in ledger_item("c1", mailed, None), "an import's many entries are no bigger"
    ledger = DynamoConsentLedger(boto3.client("dynamodb"), aws["EventsTable"])
    ledger.append("c1", mailed, None)
    ledger.append("c1", lined, None)
    assert ledger.entries("c1") == [mailed, lined]
    assert [e.channel for e in ledger.entries("c1")] == ["email", "line"]


def test_a_reason_for_good_on_the_do_not_mail_list_is_never_replaced_by_a_passing_one(aws):
    from chalicelib import bootstrap

    directory = bootstrap.contact_directory()
    directory.suppress("mika@example.com", "unsubscribed:welcome", "2026-12-07T10:00:00+00:00")
    directory.suppress("mika@example.com", "erased", "2026-12-07T10:00:01+00:00")  # an unsubscribe
    directory.suppress("mika@example.com", "unsubscribed:welcome", "2026-12-07T10:00:02+00:00")  # read before
    assert directory.suppression_of("mika@example.com") == "erased", "a sign-up form would lift the other"
    directory.lift_unsubscribe("mika@example.com")
    assert directory.suppression_of("mika@example.com") == "erased"
