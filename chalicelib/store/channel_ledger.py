"""The fleet's token buckets for LINE and SMS, and taking over a crashed send (journeys table).

LINE's limits are per channel and are not raised on request; its 429 guidance asks for one
limiter shared by every sender, below the limit.  Here every worker of every Lambda takes from
one bucket per channel, an item `limit#<channel>` in the journeys table:
- it refills at `headroom` of the channel's limit (95 %) and holds at most `burst` seconds of it
  (3.5 %), so no one-second window, however it falls, sees more than 98.5 % of the limit;
- a take reads the item and writes it back on the condition that nobody wrote it since (an
  optimistic, conditional UpdateItem); a lost race reads again;
- a worker takes a lease of sends at once, all or none (it waits until the bucket holds them),
  and spends them within a second: 2,000 pushes a second cost about 35 reads and 35 writes a
  second on the item, well under a partition's 1,000.
The bucket runs on the wall clock (`clock.wall`), which the local stack never moves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.store.journeys import _action

HEADROOM = 0.95
BURST_S = 0.035
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

    def take(self, channel: str, want: int) -> tuple[int, float]:
        rate = self._limits[channel] * self._headroom
        burst = max(1.0, self._limits[channel] * self._burst_s)
        key = {"pk": {"S": f"limit#{channel}"}, "sk": {"S": "bucket"}}
        for _ in range(RACES):
            item = self._db.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
            now = self._clock()
            if item is None:
                tokens, condition, values = burst, "attribute_not_exists(pk)", {}
            else:
                was = float(item["at"]["N"])
                tokens = min(burst, float(item["tokens"]["N"]) + max(0.0, now - was) * rate)
                condition, values = "#at = :was", {":was": item["at"]}
            granted = min(want, int(burst))  # all of it or nothing: a lease, not a trickle
            if tokens < granted:
                return 0, (granted - tokens) / rate
            try:
                self._db.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression="SET tokens = :t, #at = :now",
                    ConditionExpression=condition,
                    ExpressionAttributeNames={"#at": "at"},
                    ExpressionAttributeValues={
                        ":t": {"N": f"{tokens - granted:.6f}"},
                        ":now": {"N": f"{now:.6f}"},
                        **values,
                    },
                )
            except self._db.exceptions.ConditionalCheckFailedException:
                continue  # another worker took meanwhile: read the bucket again
            return granted, 0.0
        return 0, 1.0 / rate

    def reclaim(self, contact_id: str, key: str, claimed_at: str, at: str) -> bool:
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"c#{contact_id}"}, "sk": {"S": f"a#{_action(key)}"}},
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
