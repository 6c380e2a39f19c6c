"""What evaluation reads and writes: a contact by id, its recent history, its
scores and derived fields, purchases, and timeline entries.

Writes are small UpdateItems on the fields that changed, so an import's
columns and evaluation's fields never overwrite each other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from chalicelib.domain.commerce import Purchase, with_purchase
from chalicelib.domain.contact import Contact
from chalicelib.domain.emails import email_hash
from chalicelib.domain.errors import ConflictError
from chalicelib.domain.evaluation import History
from chalicelib.domain.segments.facts import Visit
from chalicelib.store.contact_codec import COUNTED, COUNTED_NAMES, COUNTED_VALUES, from_item, wire
from chalicelib.store.dynamo import batch_get, batch_write, shard_of

SHARDS = 16
HISTORY_LIMIT = 1000
_serialize = wire


class ContactState:
    shards = SHARDS

    def __init__(
        self, dynamodb: Any, contacts_table: str, events_table: str, suppressions_table: str = ""
    ) -> None:
        self._db = dynamodb
        self._contacts = contacts_table
        self._events = events_table
        self._suppressions = suppressions_table

    # --- reads ------------------------------------------------------------------------------------
    def by_id(self, contact_id: str) -> Contact | None:
        email = self.email_of(contact_id)
        return self.by_email(email) if email else None

    def for_sending(self, email: str) -> tuple[Contact | None, bool]:
        """The contact read afresh and whether the address is on the do-not-mail list:
        both in one consistent BatchGetItem, right before a mail goes."""
        wanted: dict[str, Any] = {
            self._contacts: {"Keys": [{"email": {"S": email}}], "ConsistentRead": True},
            self._suppressions: {"Keys": [{"email_hash": {"S": email_hash(email)}}], "ConsistentRead": True},
        }
        found = batch_get(self._db, wanted)
        contacts = found.get(self._contacts, [])
        return (from_item(contacts[0]) if contacts else None), bool(found.get(self._suppressions))

    def email_of(self, contact_id: str) -> str | None:
        """The address of a contact id (one index read; the index is eventually consistent)."""
        keys = self._db.query(
            TableName=self._contacts,
            IndexName="by_contact_id",
            KeyConditionExpression="contact_id = :id",
            ExpressionAttributeValues={":id": {"S": contact_id}},
            Limit=1,
        ).get("Items", [])
        return str(keys[0]["email"]["S"]) if keys else None

    def by_email(self, email: str) -> Contact | None:
        item = self._db.get_item(
            TableName=self._contacts, Key={"email": {"S": email}}, ConsistentRead=True
        ).get("Item")
        return from_item(item) if item else None

    def by_emails(self, emails: list[str]) -> list[Contact]:
        """Many contacts in BatchGetItem calls of 100 (what a stream batch needs)."""
        found: list[Contact] = []
        for start in range(0, len(emails), 100):
            keys = [{"email": {"S": e}} for e in emails[start : start + 100]]
            items = batch_get(self._db, {self._contacts: {"Keys": keys, "ConsistentRead": True}})
            found += [from_item(item) for item in items.get(self._contacts, [])]
        return found

    def history(self, contact_id: str, since: datetime) -> History:
        """Page views (path, time) and the last time of each named event, newest first, bounded."""
        history = History()
        request: dict[str, Any] = {
            "TableName": self._events,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :since AND :end",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"c#{contact_id}"},
                ":since": {"S": since.isoformat(timespec="milliseconds")},
                ":end": {"S": "9"},
            },
            "ProjectionExpression": "kind, #p, #n, #at, bot",
            "ExpressionAttributeNames": {"#p": "path", "#n": "name", "#at": "at"},
            "ScanIndexForward": False,
        }
        read = 0
        while read < HISTORY_LIMIT:
            answer = self._db.query(**request, Limit=HISTORY_LIMIT - read)
            for item in answer.get("Items", []):
                read += 1
                if "bot" in item or "at" not in item:
                    continue
                at = datetime.fromisoformat(item["at"]["S"])
                kind = item["kind"]["S"]
                if kind == "pageview" and "path" in item:
                    history.visits.append(Visit(item["path"]["S"], at))
                elif kind in ("event", "conversion", "form") and "name" in item:
                    name = item["name"]["S"]
                    if name not in history.events or history.events[name] < at:
                        history.events[name] = at
            if "LastEvaluatedKey" not in answer:
                break
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return history

    def due(self, shard: int, now: str, limit: int) -> list[str]:
        """Emails of contacts whose next check is due (the sparse by_check index)."""
        answer = self._db.query(
            TableName=self._contacts,
            IndexName="by_check",
            KeyConditionExpression="check_shard = :s AND check_at <= :now",
            ExpressionAttributeValues={":s": {"S": str(shard)}, ":now": {"S": now}},
            Limit=limit,
        )
        return [item["email"]["S"] for item in answer.get("Items", [])]

    def page(
        self, start: dict[str, Any] | None, limit: int = 100
    ) -> tuple[list[Contact], dict[str, Any] | None]:
        """A page of whole contacts in table order (the re-evaluation after new definitions)."""
        request: dict[str, Any] = {"TableName": self._contacts, "Limit": limit, "ConsistentRead": True}
        if start:
            request["ExclusiveStartKey"] = start
        answer = self._db.scan(**request)
        return [from_item(item) for item in answer.get("Items", [])], answer.get("LastEvaluatedKey")

    def dated(
        self, fields: list[str], start: dict[str, Any] | None, limit: int = 1000
    ) -> tuple[list[Contact], dict[str, Any] | None]:
        """A page of the contacts holding any of these date fields (the daily date pass's scan)."""
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        shown = {"#email": "email", "#id": "contact_id", "#zone": "timezone", **names}
        request: dict[str, Any] = {
            "TableName": self._contacts,
            "Limit": limit,
            "FilterExpression": " OR ".join(f"attribute_exists({n})" for n in names),
            "ProjectionExpression": ", ".join(shown),
            "ExpressionAttributeNames": shown,
        }
        if start:
            request["ExclusiveStartKey"] = start
        answer = self._db.scan(**request)
        return [from_item(item) for item in answer.get("Items", [])], answer.get("LastEvaluatedKey")

    def buyers(self) -> Iterator[Contact]:
        """Every contact with a purchase on record (the RFM job's scan; never on a request path)."""
        request: dict[str, Any] = {
            "TableName": self._contacts,
            "FilterExpression": "attribute_exists(last_purchase_date)",
            "ProjectionExpression": "email, contact_id, purchase_count, total_spent, last_purchase_date, rfm",
        }
        while True:
            answer = self._db.scan(**request)
            for item in answer.get("Items", []):
                yield from_item(item)
            if "LastEvaluatedKey" not in answer:
                return
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    # --- writes -----------------------------------------------------------------------------------
    def save_scores(self, contact: Contact) -> None:
        """Scores move only from the state they were computed from: `scored_version` counts
        the writes, and a write expects the count it read (retries apply nothing twice)."""
        was = int(contact.get("scored_version") or 0)
        condition = "attribute_not_exists(scored_version)" if was == 0 else "scored_version = :was"
        values: dict[str, Any] = {
            ":s": _serialize(contact["scores"]),
            ":t": {"S": contact["scored_through"]},
            ":k": _serialize(contact["scored_keys"]),
            ":v": {"N": str(was + 1)},
            **COUNTED_VALUES,
        }
        if was:
            values[":was"] = {"N": str(was)}
        try:
            self._db.update_item(
                TableName=self._contacts,
                Key={"email": {"S": contact["email"]}},
                UpdateExpression="SET scores = :s, scored_through = :t, scored_keys = :k, scored_version = :v"
                f" ADD {COUNTED}",
                ConditionExpression=f"attribute_exists(email) AND ({condition})",
                ExpressionAttributeNames=COUNTED_NAMES,
                ExpressionAttributeValues=values,
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            raise ConflictError(contact["email"]) from None
        contact["scored_version"] = was + 1

    def save_derived(self, email: str, fields: dict[str, Any], at: str) -> bool:
        """Grade, segments, RFM, the next check (its index sparse); False: erased meanwhile."""
        sets, removes = ["evaluated_at = :at"], []
        names: dict[str, str] = {}
        values: dict[str, Any] = {":at": {"S": at}}
        for name, value in fields.items():
            names[f"#{name}"] = name  # names such as "segments" are reserved words
            if value in (None, ""):
                removes.append(f"#{name}")
            else:
                sets.append(f"#{name} = :{name}")
                values[f":{name}"] = _serialize(value)
        if "check_at" in fields:
            if fields["check_at"]:
                sets.append("check_shard = :shard")
                values[":shard"] = {"S": _shard(email)}
            else:
                removes.append("check_shard")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            self._db.update_item(
                TableName=self._contacts,
                Key={"email": {"S": email}},
                UpdateExpression=f"{expression} ADD {COUNTED}",
                ConditionExpression="attribute_exists(email)",  # erased meanwhile: write nothing
                ExpressionAttributeValues=values | COUNTED_VALUES,
                ExpressionAttributeNames=names | COUNTED_NAMES,
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def set_attrs(self, email: str, attrs: dict[str, str]) -> None:
        """A scenario's update step: custom attributes set (the contacts stream re-evaluates)."""
        names = {"#a": "attrs", **{f"#k{i}": k for i, k in enumerate(attrs)}, **COUNTED_NAMES}
        values = {f":v{i}": {"S": v} for i, v in enumerate(attrs.values())} | COUNTED_VALUES
        sets = ", ".join(f"#a.#k{i} = :v{i}" for i in range(len(attrs)))
        with contextlib.suppress(self._db.exceptions.ConditionalCheckFailedException):
            try:
                self._db.update_item(
                    TableName=self._contacts,
                    Key={"email": {"S": email}},
                    UpdateExpression=f"SET {sets} ADD {COUNTED}",
                    ConditionExpression="attribute_exists(email) AND attribute_type(#a, :m)",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values | {":m": {"S": "M"}},
                )
            except self._db.exceptions.ConditionalCheckFailedException:  # no attrs map yet
                self._db.update_item(
                    TableName=self._contacts,
                    Key={"email": {"S": email}},
                    UpdateExpression=f"SET #a = :all ADD {COUNTED}",
                    ConditionExpression="attribute_exists(email) AND attribute_not_exists(#a)",
                    ExpressionAttributeNames={"#a": "attrs", **COUNTED_NAMES},
                    ExpressionAttributeValues={
                        ":all": {"M": {k: {"S": v} for k, v in attrs.items()}},
                        **COUNTED_VALUES,
                    },
                )

    def block(self, email: str, status: str, reason: str, at: str) -> bool:
        """Unsubscribe or suppress: the status moves only towards 'not mailable', never back.
        True if this call changed it (a second unsubscribe changes nothing)."""
        try:
            self._db.update_item(
                TableName=self._contacts,
                Key={"email": {"S": email}},
                UpdateExpression="SET #s = :s, consent_source = :r, consent_at = :at, updated_at = :at"
                f" ADD {COUNTED}",
                ConditionExpression="attribute_exists(email) AND #s <> :s AND #s <> :suppressed",
                ExpressionAttributeNames={"#s": "status", **COUNTED_NAMES},
                ExpressionAttributeValues={
                    ":s": {"S": status},
                    ":r": {"S": reason},
                    ":at": {"S": at},
                    ":suppressed": {"S": "suppressed"},
                    **COUNTED_VALUES,
                },
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def record_purchase(self, contact: Contact, purchase: Purchase, at: str) -> bool:
        """The order (once, by its id) and the contact's commerce fields, in one transaction.

        False: this order id was recorded before (nothing changes).  An order id is its site's; an
        order the tag (which anyone can call) reported for someone else does not stop the signed one."""
        order = {
            "pk": {"S": f"c#{contact['contact_id']}"},
            "sk": {"S": f"{purchase.at}#order#{purchase.order_id}"},
            "kind": {"S": "purchase"},
            "name": {"S": purchase.order_id},
            "at": {"S": purchase.at},
            "amount": {"S": str(purchase.total)},
            "source": {"S": purchase.source},
        }
        if purchase.skus:
            order["skus"] = {"S": ",".join(purchase.skus)}
        marker = {
            "pk": {
                "S": f"o#{purchase.site}#{purchase.order_id}" if purchase.site else f"o#{purchase.order_id}"
            },
            "sk": {"S": "order"},
            "contact_id": order["pk"],
            "at": {"S": at},
            "source": {"S": purchase.source},
        }
        api = purchase.source == "api"  # the shop's signed word wins over the tag's for someone else
        first = "attribute_not_exists(pk)" + (" OR (#src = :tag AND contact_id <> :me)" if api else "")
        named: dict[str, Any] = {"ExpressionAttributeNames": {"#src": "source"}}
        named |= {"ExpressionAttributeValues": {":tag": {"S": "tag"}, ":me": order["pk"]}}
        fields = with_purchase(contact, purchase)
        sets = ", ".join(f"#{name} = :{name}" for name in fields)
        values = {f":{name}": _serialize(value) for name, value in fields.items()}
        guard, guard_values = _unchanged(contact)
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._events,
                            "Item": marker,
                            "ConditionExpression": first,
                            **(named if api else {}),
                        }
                    },
                    {"Put": {"TableName": self._events, "Item": order}},
                    {
                        "Update": {
                            "TableName": self._contacts,
                            "Key": {"email": {"S": contact["email"]}},
                            "UpdateExpression": f"SET {sets}, updated_at = :now ADD {COUNTED}",
                            "ExpressionAttributeNames": {f"#{n}": n for n in fields} | COUNTED_NAMES,
                            "ConditionExpression": guard,
                            "ExpressionAttributeValues": {
                                **values,
                                **guard_values,
                                ":now": {"S": at},
                                **COUNTED_VALUES,
                            },
                        }
                    },
                ]
            )
        except self._db.exceptions.TransactionCanceledException as error:
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False
            raise ConflictError(contact["email"]) from None
        return True

    def claim_alert(self, contact_id: str, entry_key: str, at: str) -> bool:
        """Mark a hot entry as announced; False when it already was."""
        try:
            self._db.update_item(
                TableName=self._events,
                Key={"pk": {"S": f"c#{contact_id}"}, "sk": {"S": entry_key}},
                UpdateExpression="SET alerted_at = :at",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(alerted_at)",
                ExpressionAttributeValues={":at": {"S": at}},
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release_alert(self, contact_id: str, entry_key: str) -> None:
        self._db.update_item(
            TableName=self._events,
            Key={"pk": {"S": f"c#{contact_id}"}, "sk": {"S": entry_key}},
            UpdateExpression="REMOVE alerted_at",
        )

    def add_to_timeline(self, contact_id: str, entries: list[dict[str, str]]) -> None:
        """Entries with deterministic keys (`sk`), so a retried batch rewrites the same items."""
        self.add_to_timelines([(contact_id, entry) for entry in entries])

    def add_to_timelines(self, entries: list[tuple[str, dict[str, str]]]) -> None:
        """(contact id, entry) pairs of many people, 25 to a batch write."""
        requests = [
            {
                "PutRequest": {
                    "Item": {"pk": {"S": f"c#{contact_id}"}, **{k: {"S": v} for k, v in entry.items()}}
                }
            }
            for contact_id, entry in entries
        ]
        batch_write(self._db, self._events, requests)


def _shard(email: str) -> str:
    return shard_of(email, SHARDS)


def _unchanged(contact: Contact) -> tuple[str, dict[str, Any]]:
    """The contact's commerce fields are still as read (optimistic concurrency)."""
    count = contact.get("purchase_count")
    if count is None:
        return "attribute_exists(email) AND attribute_not_exists(purchase_count)", {}
    return "purchase_count = :was", {":was": {"N": str(count)}}
