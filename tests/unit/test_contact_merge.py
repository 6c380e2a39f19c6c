from chalicelib.domain.contact import Outcome, Source, Status, create, merge
from chalicelib.domain.rows import ContactRow

SOURCE = Source("import:customers.csv", "2026-01-01T00:00:00+00:00")
LATER = Source("import:update.csv", "2026-02-01T00:00:00+00:00")


def row(**fields):
    attrs = fields.pop("attrs", {})
    return ContactRow(2, "a@example.com", fields, attrs)


def test_new_contacts_without_consent_are_not_yet_consented():
    contact = create(row(name="Aiko"), "id1", SOURCE).contact
    assert contact["status"] == Status.PENDING
    assert "consent_source" not in contact


def test_consent_is_recorded_with_its_source_and_time():
    contact = create(row(consent=True), "id1", SOURCE).contact
    assert (contact["status"], contact["consent_source"], contact["consent_at"]) == (
        Status.SUBSCRIBED,
        "import:customers.csv",
        SOURCE.at,
    )


def test_non_empty_updates_and_empty_never_erases():
    first = create(row(name="Aiko", company="Acme", attrs={"plan": "gold"}), "id1", SOURCE).contact
    merged = merge(first, row(company="Beta", attrs={"color": "red"}), LATER)
    assert merged.outcome is Outcome.UPDATED
    assert merged.contact["name"] == "Aiko" and merged.contact["company"] == "Beta"
    assert merged.contact["attrs"] == {"plan": "gold", "color": "red"}
    assert merged.contact["contact_id"] == "id1" and merged.contact["updated_at"] == LATER.at


def test_the_same_row_again_changes_nothing():
    first = create(row(name="Aiko"), "id1", SOURCE).contact
    merged = merge(first, row(name="Aiko"), LATER)
    assert merged.outcome is Outcome.UNCHANGED and merged.contact["updated_at"] == SOURCE.at


def test_an_import_never_resubscribes_an_opt_out():
    for status in (Status.UNSUBSCRIBED, Status.SUPPRESSED):
        first = {**create(row(), "id1", SOURCE).contact, "status": status}
        merged = merge(first, row(consent=True), LATER)
        assert merged.contact["status"] == status and merged.consent_refused


def test_an_opt_out_in_a_file_is_honoured():
    first = create(row(consent=True), "id1", SOURCE).contact
    merged = merge(first, row(consent=False), LATER)
    assert merged.contact["status"] == Status.UNSUBSCRIBED
    assert merged.contact["consent_source"] == "import:update.csv"
