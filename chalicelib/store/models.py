"""The tables, declared once.  infra/template.yaml creates them; a test holds
the two to the same keys and indexes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pynamodb.attributes import Attribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.constants import NUMBER
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.settings import Settings


class DecimalAttribute(Attribute[Decimal]):
    """Money stays exact (PynamoDB's NumberAttribute goes through float)."""

    attr_type = NUMBER

    def serialize(self, value: Decimal) -> str:
        return str(value)

    def deserialize(self, value: str) -> Decimal:
        return Decimal(value)


class ContactIdIndex(GlobalSecondaryIndex["ContactModel"]):
    class Meta:
        index_name = "by_contact_id"
        projection = KeysOnlyProjection()

    contact_id = UnicodeAttribute(hash_key=True)


class CheckIndex(GlobalSecondaryIndex["ContactModel"]):
    """Sparse: contacts a time-based rule will change, by shard and due time (the sweep reads it)."""

    class Meta:
        index_name = "by_check"
        projection = KeysOnlyProjection()

    check_shard = UnicodeAttribute(hash_key=True)
    check_at = UnicodeAttribute(range_key=True)


class ContactModel(Model):
    """One item per person, keyed by normalised email so an import can read a
    hundred people in one BatchGetItem; the stable id is found through a GSI."""

    class Meta:
        table_name = "sodate-contacts"

    email = UnicodeAttribute(hash_key=True)
    contact_id = UnicodeAttribute()
    by_contact_id = ContactIdIndex()
    by_check = CheckIndex()
    check_shard = UnicodeAttribute(null=True)
    check_at = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    source = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    consent_source = UnicodeAttribute(null=True)
    consent_at = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    last_name = UnicodeAttribute(null=True)
    first_name = UnicodeAttribute(null=True)
    company = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    age = NumberAttribute(null=True)
    gender = UnicodeAttribute(null=True)
    birthday = UnicodeAttribute(null=True)
    customer_status = UnicodeAttribute(null=True)
    purchase_count = NumberAttribute(null=True)
    first_purchase_date = UnicodeAttribute(null=True)
    last_purchase_date = UnicodeAttribute(null=True)
    last_product = UnicodeAttribute(null=True)
    total_spent = DecimalAttribute(null=True)
    language = UnicodeAttribute(null=True)
    timezone = UnicodeAttribute(null=True)
    attrs: MapAttribute[str, Any] = MapAttribute(null=True)


class SuppressionModel(Model):
    """An address that must never be mailed, kept only as a hash."""

    class Meta:
        table_name = "sodate-suppressions"

    email_hash = UnicodeAttribute(hash_key=True)
    reason = UnicodeAttribute()
    at = UnicodeAttribute()


class ImportModel(Model):
    """One import of one file: its lease, checkpoint and final report."""

    class Meta:
        table_name = "sodate-imports"

    import_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute()
    status = UnicodeAttribute()  # running, done
    lease_until = NumberAttribute(default=0)
    checkpoint = UnicodeAttribute(null=True)  # JSON of services.import_state.Checkpoint
    report = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()


ALL_MODELS: tuple[type[Model], ...] = (ContactModel, SuppressionModel, ImportModel)


def bind_tables(settings: Settings) -> None:
    """Point the models at this stage's tables (names come from settings)."""
    ContactModel.Meta.table_name = settings.contacts_table
    SuppressionModel.Meta.table_name = settings.suppressions_table
    ImportModel.Meta.table_name = settings.imports_table
