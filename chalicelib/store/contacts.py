"""Contact repository: batch reads and writes for imports, single items for the API."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.domain.consent import LedgerEntry
from chalicelib.domain.contact import NEVER_AGAIN, Contact, Newcomer
from chalicelib.domain.emails import email_hash
from chalicelib.store.consent import entry_put
from chalicelib.store.contact_codec import (
    COUNTED,
    COUNTED_NAMES,
    COUNTED_VALUES,
    Item,
    NewcomerItems,
    from_item,
    put_if_absent,
    put_if_unchanged,
    to_item,
)
from chalicelib.store.dynamo import BATCH_GET, batch_get, decode_key, encode_key, packed, transact_puts
from chalicelib.store.models import ContactModel, SuppressionModel


class DynamoContactStore:
    """Contacts in batches for the importer: 100 keys a read, 100 conditional puts a
    transaction, every call carried to the end by the shared helpers."""

    def __init__(self, dynamodb: Any, events_table: str) -> None:
        self._db = dynamodb
        self._events = events_table  # where the consent ledger is
        self._newcomer_items = NewcomerItems()

    def get_many(self, emails: list[str]) -> dict[str, Contact]:
        items = self._batch_get(ContactModel.Meta.table_name, [{"email": {"S": e}} for e in emails])
        return {item["email"]["S"]: from_item(item) for item in items}

    def suppressed_among(self, emails: list[str]) -> set[str]:
        hashes = {email_hash(e): e for e in emails}
        keys = [{"email_hash": {"S": h}} for h in hashes]
        items = self._batch_get(SuppressionModel.Meta.table_name, keys)
        return {hashes[item["email_hash"]["S"]] for item in items}

    def put_many(
        self, contacts: list[Contact], newcomers: list[Newcomer], entries: list[LedgerEntry]
    ) -> set[str]:
        """Each contact only if nobody wrote it since it was read, each newcomer only if nobody
        holds the address yet, each with its consent entries (a BatchWriteItem carries no
        condition, nor writes two items or none: TransactWriteItems, 100 puts each, a person
        never split from their entries, the transactions of one batch in flight together).
        The emails of those not written because someone else came first."""
        tables = (ContactModel.Meta.table_name, self._events)
        groups = people_writes(tables, contacts, newcomers, entries, self._newcomer_items.item)
        lost: set[str] = set()
        for losers in _pool().map(lambda pack: transact_puts(self._db, pack, "email"), packed(groups)):
            lost |= losers
        return lost

    def _batch_get(self, table: str, keys: list[Item]) -> list[Item]:
        found: list[Item] = []
        for start in range(0, len(keys), BATCH_GET):
            wanted = {table: {"Keys": keys[start : start + BATCH_GET], "ConsistentRead": True}}
            found += batch_get(self._db, wanted).get(table, [])
        return found


def people_writes(
    tables: tuple[str, str],
    contacts: list[Contact],
    newcomers: list[Newcomer],
    entries: list[LedgerEntry],
    new_item: Callable[[Newcomer], Item],
) -> list[list[Item]]:
    """A transaction's puts for each person, changed then new: the person's conditional put (in
    the contacts table), then their consent entries (in the events table)."""
    contacts_table, events_table = tables
    theirs: dict[str, list[Item]] = {}
    for contact_id, entry, expires_at in entries:
        theirs.setdefault(contact_id, []).append(entry_put(events_table, contact_id, entry, expires_at))
    groups = [[put_if_unchanged(contacts_table, c), *theirs.get(c["contact_id"], [])] for c in contacts]
    groups += [[put_if_absent(contacts_table, new_item(n)), *theirs.get(n.contact_id, [])] for n in newcomers]
    return groups


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="dynamodb")


# --- admin path: single items -----------------------------------------------------
class ContactDirectory:
    """One person at a time: look up, create, erase, and the do-not-mail list (admin and forms)."""

    def __init__(self, dynamodb: Any) -> None:
        self._db = dynamodb

    def find_by_email(self, normalized_email: str) -> Contact | None:
        """Every attribute, including what evaluation keeps (scores, segments), which the model omits."""
        answer = self._db.get_item(
            TableName=ContactModel.Meta.table_name,
            Key={"email": {"S": normalized_email}},
            ConsistentRead=True,
        )
        return from_item(answer["Item"]) if "Item" in answer else None

    def find_by_id(self, contact_id: str) -> Contact | None:
        for key in ContactModel.by_contact_id.query(contact_id, limit=1):
            return self.find_by_email(key.email)
        return None

    def page(self, limit: int, cursor: str | None) -> tuple[list[Contact], str | None]:
        """A page of contacts in table order; the cursor is opaque to callers."""
        start = decode_key(cursor, {"email"})
        request: dict[str, Any] = {"TableName": ContactModel.Meta.table_name, "Limit": limit}
        if start:
            request["ExclusiveStartKey"] = start
        answer = self._db.scan(**request)
        contacts = [from_item(item) for item in answer.get("Items", [])]
        last = answer.get("LastEvaluatedKey")
        return contacts, encode_key(last) if last else None

    def create_if_absent(self, contact: Contact) -> bool:
        """One new person, unless someone with that email exists already (then False)."""
        try:
            self._db.put_item(
                TableName=ContactModel.Meta.table_name,
                Item=to_item(contact),
                ConditionExpression="attribute_not_exists(email)",
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def delete(self, normalized_email: str) -> None:
        ContactModel(email=normalized_email).delete()

    def suppress(self, normalized_email: str, reason: str, at: str) -> None:
        """On the do-not-mail list for this reason; one for good (an erasure, a bounce, a
        complaint) is never replaced by a passing one (an unsubscribe read just before an erasure
        would have let a later sign-up form make the erased address mailable)."""
        permanent = {f":{n}": {"S": reason} for n, reason in enumerate(NEVER_AGAIN)}
        with contextlib.suppress(self._db.exceptions.ConditionalCheckFailedException):
            self._db.put_item(
                TableName=SuppressionModel.Meta.table_name,
                Item={
                    "email_hash": {"S": email_hash(normalized_email)},
                    "reason": {"S": reason},
                    "at": {"S": at},
                },
                ConditionExpression=f"attribute_not_exists(email_hash) OR NOT (reason IN ({', '.join(permanent)}))",
                ExpressionAttributeValues=permanent,
            )

    def suppression_of(self, normalized_email: str) -> str | None:
        """Why the address is on the do-not-mail list (erased, bounced, unsubscribed:...), or None."""
        answer = self._db.get_item(
            TableName=SuppressionModel.Meta.table_name,
            Key={"email_hash": {"S": email_hash(normalized_email)}},
            ConsistentRead=True,
        )
        return str(answer["Item"]["reason"]["S"]).split(":", 1)[0] if "Item" in answer else None

    def lift_unsubscribe(self, normalized_email: str) -> None:
        """The person subscribed again from their own mailbox: an unsubscribe's entry goes (a
        bounce's, a complaint's or an erasure's never does)."""
        with contextlib.suppress(self._db.exceptions.ConditionalCheckFailedException):
            self._db.delete_item(
                TableName=SuppressionModel.Meta.table_name,
                Key={"email_hash": {"S": email_hash(normalized_email)}},
                ConditionExpression="begins_with(reason, :u)",
                ExpressionAttributeValues={":u": {"S": "unsubscribed"}},
            )

    def grant(
        self,
        email: str,
        fields: dict[str, Any],
        topics: list[str],
        source: str,
        at: str,
        every_topic: bool = False,
    ) -> str | None:
        """Subscribe (a confirmed sign-up): the fields given are written, the topics added to theirs."""
        table = ContactModel.Meta.table_name
        attrs = fields.get("attrs") or {}
        plain = {k: v for k, v in fields.items() if k != "attrs"}
        names = {"#s": "status", **{f"#f{i}": k for i, k in enumerate(plain)}}
        values: dict[str, Any] = {":s": {"S": "subscribed"}, ":r": {"S": source}, ":at": {"S": at}}
        sets = ["#s = :s", "consent_source = :r", "consent_at = :at", "updated_at = :at"]
        sets += [f"#f{i} = :f{i}" for i in range(len(plain))]
        values |= {f":f{i}": {"S": str(v)} for i, v in enumerate(plain.values())}
        if attrs:  # the person may have no attrs map yet
            self._db.update_item(
                TableName=table,
                Key={"email": {"S": email}},
                UpdateExpression=f"SET #a = if_not_exists(#a, :empty) ADD {COUNTED}",
                ConditionExpression="attribute_exists(email)",
                ExpressionAttributeNames={"#a": "attrs", **COUNTED_NAMES},
                ExpressionAttributeValues={":empty": {"M": {}}, **COUNTED_VALUES},
            )
            names |= {"#a": "attrs", **{f"#k{i}": k for i, k in enumerate(attrs)}}
            sets += [f"#a.#k{i} = :a{i}" for i in range(len(attrs))]
            values |= {f":a{i}": {"S": str(v)} for i, v in enumerate(attrs.values())}
        expression = "SET " + ", ".join(sets)
        if topics:  # a set: the topics they had stay; the chosen ones are on again
            expression += f" DELETE topics_off :t ADD {COUNTED}" + ("" if every_topic else ", topics :t")
            values[":t"] = {"SS": sorted(topics)}
        else:
            expression += f" ADD {COUNTED}"
        try:
            answer = self._db.update_item(
                TableName=table,
                Key={"email": {"S": email}},
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(email) AND #s <> :suppressed",
                ExpressionAttributeNames=names | COUNTED_NAMES,
                ExpressionAttributeValues={**values, ":suppressed": {"S": "suppressed"}, **COUNTED_VALUES},
                ReturnValues="UPDATED_OLD",
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return None
        return str(answer.get("Attributes", {}).get("status", {}).get("S", "pending"))

    def turn_off_topic(self, email: str, topic: str, at: str) -> bool:
        """No more mail about `topic` (the one-click unsubscribe of a mail about it); False when
        it was off already or the person is gone."""
        try:
            self._db.update_item(
                TableName=ContactModel.Meta.table_name,
                Key={"email": {"S": email}},
                UpdateExpression=f"ADD topics_off :set, {COUNTED} DELETE topics :set SET updated_at = :at",
                ConditionExpression="attribute_exists(email) AND NOT contains(topics_off, :topic)",
                ExpressionAttributeNames=COUNTED_NAMES,
                ExpressionAttributeValues={
                    ":set": {"SS": [topic]},
                    ":topic": {"S": topic},
                    ":at": {"S": at},
                    **COUNTED_VALUES,
                },
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def set_preferences(self, email: str, on: list[str], off: list[str], paused_until: str, at: str) -> bool:
        """The preference page's answer, for a subscribed person: these topics on, these off, mail
        paused until then ('' for no pause).  False when they are not subscribed (any more)."""
        sets, removes = ["updated_at = :at"], []
        values: dict[str, Any] = {":at": {"S": at}, ":s": {"S": "subscribed"}}
        for name, chosen in (("topics", on), ("topics_off", off)):
            if chosen:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = {"SS": sorted(chosen)}
            else:
                removes.append(name)
        if paused_until:
            sets.append("paused_until = :p")
            values[":p"] = {"S": paused_until}
        else:
            removes.append("paused_until")
        try:
            self._db.update_item(
                TableName=ContactModel.Meta.table_name,
                Key={"email": {"S": email}},
                UpdateExpression="SET "
                + ", ".join(sets)
                + (" REMOVE " + ", ".join(removes) if removes else "")
                + f" ADD {COUNTED}",
                ConditionExpression="#s = :s",
                ExpressionAttributeNames={"#s": "status", **COUNTED_NAMES},
                ExpressionAttributeValues=values | COUNTED_VALUES,
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def is_suppressed(self, normalized_email: str) -> bool:
        try:
            SuppressionModel.get(email_hash(normalized_email))
        except DoesNotExist:
            return False
        return True
