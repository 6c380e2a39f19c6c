"""The fleet's token buckets for LINE and SMS, and taking over a crashed send (journeys table).

LINE's limits are per channel and are not raised on request; its 429 guidance asks for one
limiter shared by every sender, below the limit.  Here every worker of every Lambda takes from
one bucket per channel, an item `limit#<channel>` in the journeys table:
- it refills at `headroom` of the channel's limit (93 %) and holds at most `burst` seconds of it
  (6 %), so no one-second window, however it falls, sees more than 99 % of the limit;
- a take writes the bucket as this worker last saw it, refilled and less the lease, on the
  condition that nobody wrote it since (a conditional UpdateItem on its revision: two workers'
  clocks may well write the same time); a lost race gets the bucket
  as it is with the refusal (ReturnValuesOnConditionCheckFailure) and tries again: one call a
  take while a worker sends alone, no read before each;
- a worker takes a lease of sends at once: what the bucket holds, up to what it wants, but not
  a trickle (less than a quarter of it: it is told how long until that much is there), and
  spends them within a second.  Taking what is there, not waiting for a whole lease, is what
  keeps the bucket from filling up and spilling its refill while a take is on its way (a
  write takes milliseconds; the bucket holds 60 ms): 2,000 pushes a second cost some 40
  writes a second on the item, well under a partition's 1,000.
The bucket runs on the wall clock (`clock.wall`), which the local stack never moves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.store.journey_items import action_sort_key

HEADROOM = 0.93
BURST_S = 0.06
RACES = 8


class ChannelTable:
    def __init__(
        self,
        dynamodb: Any,
        table: str,
        clock: Callable[[], float],
        headroom: float = HEADROOM,
        burst_s: float = BURST_S,
        **limits: float,
    ) -> None:
        """`limits`: each channel's sends per second (line=2000, sms=20)."""
        self._db = dynamodb
        self._table = table
        self._limits = limits
        self._clock = clock
        self._headroom = headroom
        self._burst_s = burst_s
        self._seen: dict[str, dict[str, Any] | None] = {}  # each bucket as this worker last saw it

    def take(self, channel: str, want: int) -> tuple[int, float]:
        rate = self._limits[channel] * self._headroom
        burst = max(1.0, self._limits[channel] * self._burst_s)
        want = max(1, min(want, int(burst)))
        least = max(1, want // 4)  # less is a trickle: one write for a few sends
        key = {"pk": {"S": f"limit#{channel}"}, "sk": {"S": "bucket"}}
        item = self._seen[channel] if channel in self._seen else self._read(key)
        for _ in range(RACES):
            now = self._clock()
            if item is None:
                tokens, condition, values = burst, "attribute_not_exists(pk)", {}
            else:
                was = float(item["at"]["N"])
                tokens = min(burst, float(item["tokens"]["N"]) + max(0.0, now - was) * rate)
                condition, values = "rev = :rev", {":rev": item["rev"]}
            if tokens < least:  # an older view only ever holds more than the bucket does now
                return 0, (least - tokens) / rate
            need = min(want, int(tokens))
            try:
                answer = self._db.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression="SET tokens = :t, #at = :now ADD rev :one",
                    ConditionExpression=condition,
                    ExpressionAttributeNames={"#at": "at"},
                    ExpressionAttributeValues={
                        ":t": {"N": f"{tokens - need:.6f}"},
                        ":now": {"N": f"{now:.6f}"},
                        ":one": {"N": "1"},
                        **values,
                    },
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except self._db.exceptions.ConditionalCheckFailedException as error:
                # another worker took meanwhile: its bucket comes back with the refusal
                item = error.response.get("Item") or self._read(key)
                self._seen[channel] = item
                continue
            self._seen[channel] = answer["Attributes"]
            return need, 0.0
        return 0, 1.0 / rate

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
