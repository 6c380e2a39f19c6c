"""Where everyone is in every scenario, and what was done for them (the journeys table).

One table, keyed by person, holds:
- `j#<scenario>`: the person's place (step, entry, when due).  While the
  journey runs it carries `due_shard`/`due_at`, so the sparse `by_due` index
  lists exactly the journeys to look at, spread over 16 shards;
- `a#<scenario>#<step>#<entry>`: the ledger of actions.  It is written with
  a condition *before* the mail goes to SES, so a retry, a second tick or a
  crash after sending finds it and never sends again;
- `cap`: the times of the person's recent marketing mails (the frequency cap);
- `t#<kind>#<key>`: a task for later (a webhook to retry, a mail to resend
  after a soft bounce), due through the same index.
`ses#<message id>` maps SES's id back to the ledger, and `msg#sms#<message id>` a text's (the id
its send was answered with, noted as `message_id`), so receipts find the send.
`r#<scenario>#<shard>` rows count the report per day, step and figure, spread so SES's notices at
the sending rate (each counted in a transaction: two write units) fall on 16 keys; reads add the
shards (and `r#<scenario>`) up.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

from chalicelib.domain.channels import RECEIPTS
from chalicelib.domain.errors import StaleJourneyError, TransientError
from chalicelib.domain.journeys import Place, Task
from chalicelib.domain.mail.cap import KEEP_SENT, with_mail, without_mail
from chalicelib.store.dynamo import batch_get, batch_write, shard_of
from chalicelib.store.journey_items import SHARDS, action_sort_key, due_shard, place_item, place_of, task_of

REPORT_SHARDS = 16


class JourneyStore:
    shards = SHARDS

    def __init__(self, dynamodb: Any, table: str) -> None:
        self._db = dynamodb
        self._table = table

    # --- places ----------------------------------------------------------------------------------
    def places_of(self, contact_id: str) -> list[Place]:
        answer = self._db.query(
            TableName=self._table,
            KeyConditionExpression="pk = :p AND begins_with(sk, :j)",
            ExpressionAttributeValues={":p": {"S": f"c#{contact_id}"}, ":j": {"S": "j#"}},
            ConsistentRead=True,
        )
        return [place_of(item) for item in answer.get("Items", [])]

    def forget(self, contact_id: str) -> int:
        deleted, request = (
            0,
            {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :p",
                "ExpressionAttributeValues": {":p": {"S": f"c#{contact_id}"}},
                "ProjectionExpression": "pk, sk",
            },
        )
        while True:
            answer = self._db.query(**request)
            keys = [{"DeleteRequest": {"Key": item}} for item in answer.get("Items", [])]
            for start in range(0, len(keys), 25):
                batch_write(self._db, self._table, keys[start : start + 25])
            deleted += len(keys)
            if "LastEvaluatedKey" not in answer:
                return deleted
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def places_in(self, contact_ids: Iterable[str], scenarios: Iterable[str]) -> dict[str, list[Place]]:
        """Many people's places in these scenarios, in consistent BatchGetItem calls of 100 keys
        (a stream batch's worth in one or two calls, not a query per person)."""
        keys = [
            {"pk": {"S": f"c#{contact_id}"}, "sk": {"S": f"j#{scenario}"}}
            for contact_id in sorted(set(contact_ids))
            for scenario in sorted(set(scenarios))
        ]
        found: dict[str, list[Place]] = {}
        for start in range(0, len(keys), 100):
            wanted = {self._table: {"Keys": keys[start : start + 100], "ConsistentRead": True}}
            for item in batch_get(self._db, wanted).get(self._table, []):
                place = place_of(item)
                found.setdefault(place.journey.contact_id, []).append(place)
        return found

    def due(self, shard: int, now: float, limit: int) -> list[Place | Task]:
        """Journeys and tasks due by `now` in one shard, earliest first."""
        answer = self._db.query(
            TableName=self._table,
            IndexName="by_due",
            KeyConditionExpression="due_shard = :s AND due_at <= :now",
            ExpressionAttributeValues={":s": {"S": str(shard)}, ":now": {"N": f"{now:.3f}"}},
            Limit=limit,
        )
        return [place_of(i) if i["sk"]["S"].startswith("j#") else task_of(i) for i in answer.get("Items", [])]

    def save(self, place: Place) -> None:
        """Write the place if nobody moved it since it was read (rev), then count it as moved."""
        item = place_item(place)
        condition = "attribute_not_exists(sk)" if place.rev == 0 else "rev = :rev"
        values = {} if place.rev == 0 else {":rev": {"N": str(place.rev)}}
        item["rev"] = {"N": str(place.rev + 1)}
        try:
            self._db.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            raise StaleJourneyError(f"{place.journey.contact_id} {place.journey.scenario}") from None
        place.rev += 1

    # --- the action ledger -------------------------------------------------------------------------
    def claim(self, contact_id: str, key: str, fields: dict[str, str]) -> bool:
        """True if this action was not taken before (and is now ours to take)."""
        item = {"pk": {"S": f"c#{contact_id}"}, "sk": {"S": f"a#{action_sort_key(key)}"}}
        item |= {name: {"S": value} for name, value in fields.items()}
        try:
            self._db.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(sk)"
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release(self, contact_id: str, key: str) -> None:
        """Give a claim back: the action was certainly not taken (SES refused before sending)."""
        self._db.delete_item(
            TableName=self._table,
            Key={"pk": {"S": f"c#{contact_id}"}, "sk": {"S": f"a#{action_sort_key(key)}"}},
        )

    def action(self, contact_id: str, key: str) -> dict[str, str] | None:
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"c#{contact_id}"}, "sk": {"S": f"a#{action_sort_key(key)}"}},
            ConsistentRead=True,
        ).get("Item")
        return {k: v["S"] for k, v in item.items() if "S" in v} if item else None

    def note(self, contact_id: str, key: str, fields: dict[str, str]) -> None:
        """Set fields of a ledger entry.  A send noted with its channel's `message_id`, on a channel
        whose service sends receipts by that id (SMS), is mapped back from the id as SES's is; the
        entry's channel comes back with the update (no read, and no write at all for LINE)."""
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        answer = self._db.update_item(
            TableName=self._table,
            Key={"pk": {"S": f"c#{contact_id}"}, "sk": {"S": f"a#{action_sort_key(key)}"}},
            UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":v{i}": {"S": v} for i, v in enumerate(fields.values())},
            ReturnValues="ALL_NEW" if "message_id" in fields else "NONE",
        )
        channel = answer.get("Attributes", {}).get("channel", {}).get("S", "")
        if "message_id" in fields and channel in RECEIPTS:
            self._map_id(f"msg#{channel}#{fields['message_id']}", contact_id, key)

    def first_time(self, contact_id: str, key: str, flag: str, at: str) -> bool:
        """Set a flag on a sent mail's ledger entry once (delivered, opened, clicked...):
        True the first time, False for a duplicate notification or a second click."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"c#{contact_id}"}, "sk": {"S": f"a#{action_sort_key(key)}"}},
                UpdateExpression="SET #f = :at",
                ConditionExpression="attribute_exists(sk) AND attribute_not_exists(#f)",
                ExpressionAttributeNames={"#f": flag},
                ExpressionAttributeValues={":at": {"S": at}},
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def count_once(
        self, contact_id: str, key: str, flag: str, at: str, counts: dict[tuple[str, str, str, str], int]
    ) -> bool:
        """The flag on the mail's ledger entry and its report counters in one transaction, so a
        passing fault leaves neither (the retry counts) and a repeat finds the flag (nothing)."""
        mark = {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": {"S": f"c#{contact_id}"}, "sk": {"S": f"a#{action_sort_key(key)}"}},
                "UpdateExpression": "SET #f = :at",
                "ConditionExpression": "attribute_exists(sk) AND attribute_not_exists(#f)",
                "ExpressionAttributeNames": {"#f": flag},
                "ExpressionAttributeValues": {":at": {"S": at}},
            }
        }
        try:
            shard = int(shard_of(contact_id, REPORT_SHARDS))
            self._db.transact_write_items(TransactItems=[mark, *self._counter_updates(counts, shard)])
        except self._db.exceptions.TransactionCanceledException as error:
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False
            raise TransientError(f"counting {flag} for {key}") from None
        return True

    def record_sent(self, contact_id: str, key: str, fields: dict[str, str], ses_id: str) -> None:
        """The ledger entry noted as sent, then SES's id mapped back to it for feedback.
        (Two writes, not a transaction: the emulator copies every table for each transaction.)"""
        self.note(contact_id, key, fields)
        self._map_id(f"ses#{ses_id}", contact_id, key)

    def by_ses(self, ses_id: str) -> tuple[str, str] | None:
        return self._mapped(f"ses#{ses_id}")

    def by_message(self, channel: str, message_id: str) -> tuple[str, str] | None:
        """The (contact, ledger key) of the send a channel answered with `message_id`."""
        return self._mapped(f"msg#{channel}#{message_id}")

    def _map_id(self, pk: str, contact_id: str, key: str) -> None:
        item = {"pk": {"S": pk}, "sk": {"S": "m"}, "contact": {"S": contact_id}, "key": {"S": key}}
        self._db.put_item(TableName=self._table, Item=item)

    def _mapped(self, pk: str) -> tuple[str, str] | None:
        item = self._db.get_item(TableName=self._table, Key={"pk": {"S": pk}, "sk": {"S": "m"}}).get("Item")
        return (item["contact"]["S"], item["key"]["S"]) if item else None

    # --- the frequency cap ---------------------------------------------------------------------
    def mail_times(self, contact_id: str) -> list[float]:
        return self._cap(contact_id)[0]

    def _cap(self, contact_id: str) -> tuple[list[float], int]:
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"c#{contact_id}"}, "sk": {"S": "cap"}},
            ConsistentRead=True,
        ).get("Item")
        if not item:
            return [], 0
        return [float(v["N"]) for v in item["sent"]["L"]], int(item.get("rev", {}).get("N", "0"))

    def reserve_mail_time(self, contact_id: str, at: float, cap: tuple[int, int] | None) -> bool:
        """Take a place under the frequency cap for a mail about to go: False when `cap`
        (mails, hours) is full.  Two ticks mailing one person at once cannot both take the last one.
        Without a cap the time is only appended (one call), so a cap set later counts it."""
        if cap is None and self._append_time(contact_id, at):
            return True
        return self._change_cap(contact_id, lambda times: with_mail(cap, times, at))

    def _append_time(self, contact_id: str, at: float) -> bool:
        """Append while the list is short; False when it is full and must be trimmed first."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"c#{contact_id}"}, "sk": {"S": "cap"}},
                UpdateExpression="SET sent = list_append(if_not_exists(sent, :none), :at), "
                "rev = if_not_exists(rev, :zero) + :one",
                ConditionExpression="attribute_not_exists(sent) OR size(sent) < :keep",
                ExpressionAttributeValues={
                    ":none": {"L": []},
                    ":at": {"L": [{"N": f"{at:.3f}"}]},
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                    ":keep": {"N": str(KEEP_SENT)},
                },
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def free_mail_time(self, contact_id: str, at: float) -> None:
        """Give a place back: the mail did not go (SES refused it)."""
        self._change_cap(contact_id, lambda times: without_mail(times, at))

    def _change_cap(self, contact_id: str, change: Callable[[list[float]], list[float] | None]) -> bool:
        for _ in range(10):
            times, rev = self._cap(contact_id)
            changed = change(times)
            if changed is None:
                return False
            try:
                self._db.put_item(
                    TableName=self._table,
                    Item={
                        "pk": {"S": f"c#{contact_id}"},
                        "sk": {"S": "cap"},
                        "sent": {"L": [{"N": f"{t:.3f}"} for t in changed]},
                        "rev": {"N": str(rev + 1)},
                    },
                    ConditionExpression="attribute_not_exists(rev) OR rev = :rev",
                    ExpressionAttributeValues={":rev": {"N": str(rev)}},
                )
                return True
            except self._db.exceptions.ConditionalCheckFailedException:
                continue  # another mail for this person took a place meanwhile: look again
        raise StaleJourneyError(contact_id)

    # --- tasks for later -----------------------------------------------------------------------
    def schedule(self, contact_id: str, name: str, due_at: float, data: dict[str, Any]) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"c#{contact_id}"},
                "sk": {"S": f"t#{name}"},
                "due_shard": {"S": due_shard(contact_id)},
                "due_at": {"N": f"{due_at:.3f}"},
                "data": {"S": json.dumps(data, ensure_ascii=False)},
            },
        )

    def finish_task(self, task: Task) -> bool:
        """Remove a task as taken; False if another run took it first (or moved it)."""
        try:
            self._db.delete_item(
                TableName=self._table,
                Key={"pk": {"S": f"c#{task.contact_id}"}, "sk": {"S": f"t#{task.name}"}},
                ConditionExpression="due_at = :d",
                ExpressionAttributeValues={":d": {"N": f"{task.due_at:.3f}"}},
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # --- report counters -------------------------------------------------------------------------
    def count(self, counts: dict[tuple[str, str, str, str], int]) -> None:
        """Add to (scenario, day, step, figure) counters; a batch's counts are summed first."""
        shard = os.urandom(1)[0] % REPORT_SHARDS
        for update in self._counter_updates(counts, shard):
            self._db.update_item(**update["Update"])

    def _counter_updates(
        self, counts: dict[tuple[str, str, str, str], int], shard: int
    ) -> list[dict[str, Any]]:
        return [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"pk": {"S": f"r#{scenario}#{shard}"}, "sk": {"S": f"{day}#{step}#{figure}"}},
                    "UpdateExpression": "ADD n :n",
                    "ExpressionAttributeValues": {":n": {"N": str(n)}},
                }
            }
            for (scenario, day, step, figure), n in counts.items()
            if n
        ]

    def counters(self, scenario: str) -> Iterable[tuple[str, str, str, int]]:
        """(day, step, figure, count) for one scenario, added up over the shards."""
        found: dict[tuple[str, str, str], int] = {}
        for pk in [f"r#{scenario}", *(f"r#{scenario}#{n}" for n in range(REPORT_SHARDS))]:
            request: dict[str, Any] = {"TableName": self._table, "KeyConditionExpression": "pk = :p"}
            request["ExpressionAttributeValues"] = {":p": {"S": pk}}
            while True:
                answer = self._db.query(**request)
                for item in answer.get("Items", []):
                    day, step, figure = item["sk"]["S"].split("#", 2)
                    found[(day, step, figure)] = found.get((day, step, figure), 0) + int(item["n"]["N"])
                if "LastEvaluatedKey" not in answer:
                    break
                request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return [(day, step, figure, n) for (day, step, figure), n in sorted(found.items())]
