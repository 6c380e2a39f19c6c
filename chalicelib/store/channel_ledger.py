"""The fleet's send schedules for LINE and SMS, and taking over a crashed send (journeys table).

LINE's limits are per channel and are not raised on request; its 429 guidance asks for one
limiter shared by every sender, below the limit.  Here every worker of every Lambda takes its
sends from one schedule per channel, an item `limit#<channel>` in the journeys table holding when
the last send granted to anyone is due (domain/send_schedule.py says why a time, not tokens):
- sends are granted at `headroom` of the channel's limit (93 %), a lease of up to `span`
  seconds of them at a time (50 ms: some 40 writes a second on the item at LINE's 2,000, well
  under a partition's 1,000), never more than `ahead` (100 ms) before the lease starts;
- a take writes the new due time on the condition that nobody wrote it since (a conditional
  UpdateItem on its revision: two workers' clocks may well write the same time); a lost race
  gets the item as it is with the refusal (ReturnValuesOnConditionCheckFailure) and tries
  again: one call a take while a worker sends alone, no read before each.
With each send made within 5 ms before and 40 ms after its moment, no one-second window,
however it falls, sees more than 97 % of the limit.  The schedule runs on the wall clock
(`clock.wall`), which the local stack never moves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.domain.send_schedule import Lease, next_lease
from chalicelib.store.journey_items import action_sort_key

HEADROOM = 0.93
SPAN_S = 0.05
AHEAD_S = 0.1
RACES = 8


class ChannelTable:
    def __init__(
        self,
        dynamodb: Any,
        table: str,
        clock: Callable[[], float],
        headroom: float = HEADROOM,
        **limits: float,
    ) -> None:
        """`limits`: each channel's sends per second (line=2000, sms=20)."""
        self._db = dynamodb
        self._table = table
        self._limits = limits
        self._clock = clock
        self._headroom = headroom
        self._seen: dict[str, dict[str, Any] | None] = {}  # each schedule as this worker last saw it

    def take(self, channel: str, want: int) -> Lease:
        rate = self._limits[channel] * self._headroom
        want = max(1, min(want, int(rate * SPAN_S)))
        key = {"pk": {"S": f"limit#{channel}"}, "sk": {"S": "schedule"}}
        item = self._seen[channel] if channel in self._seen else self._read(key)
        for _ in range(RACES):
            due = float(item["due"]["N"]) if item else 0.0
            lease = next_lease(due, self._clock(), want, rate, AHEAD_S)
            if not lease.sends:  # an older view only ever shows an earlier due time than the item's
                return lease
            condition, values = (
                ("rev = :rev", {":rev": item["rev"]}) if item else ("attribute_not_exists(pk)", {})
            )
            try:
                answer = self._db.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression="SET due = :due ADD rev :one",
                    ConditionExpression=condition,
                    ExpressionAttributeValues={
                        ":due": {"N": f"{lease.start + lease.sends * lease.step:.6f}"},
                        ":one": {"N": "1"},
                        **values,
                    },
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except self._db.exceptions.ConditionalCheckFailedException as error:
                # another worker took meanwhile: its schedule comes back with the refusal
                item = error.response.get("Item") or self._read(key)
                self._seen[channel] = item
                continue
            self._seen[channel] = answer["Attributes"]
            return lease
        return Lease(0, self._clock() + 1.0 / rate, 1.0 / rate)  # lost every race: soon again

    def _read(self, key: dict[str, Any]) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._db.get_item(
            TableName=self._table, Key=key, ConsistentRead=True
        ).get("Item")
        return found

    def reclaim(self, contact_id: str, key: str, claimed_at: str, at: str) -> bool:
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"c#{contact_id}"}, "sk": {"S": f"a#{action_sort_key(key)}"}},
                UpdateExpression="SET #at = :at",
                ConditionExpression="#status = :claimed AND #at = :was",
                ExpressionAttributeNames={"#at": "at", "#status": "status"},
                ExpressionAttributeValues={
                    ":at": {"S": at},
                    ":claimed": {"S": "claimed"},
                    ":was": {"S": claimed_at},
                },
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True
