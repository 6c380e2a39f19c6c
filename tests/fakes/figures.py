"""The console's counters in memory (FigureBook): each counter remembers the last batch it took,
as the DynamoDB one does, so a batch handed over again is not counted twice."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from chalicelib.domain.figures import Fact


class MemoryFigureBook:
    def __init__(self) -> None:
        self.counters: dict[tuple[str, str], Decimal] = {}  # (series, day) -> n
        self.gauge_values: dict[str, int] = {}
        self.taken: dict[object, list[str]] = {}  # the batches each counter took, newest last
        self.leads: dict[str, dict[str, dict[str, str]]] = {}  # day -> key -> lead
        self.reads = 0  # items read, as DynamoDB would bill them

    def _took(self, key: object, batch: str) -> bool:
        """As the table's items: each remembers its last 64 batches, whoever's shard they came from."""
        taken = self.taken.setdefault(key, [])
        if batch and batch in taken:
            return True
        if batch:
            taken[:] = [*taken, batch][-64:]
        return False

    def add(self, batch: str, counts: dict[tuple[str, str], Decimal], moves: dict[str, int]) -> int:
        changed = 0
        for key, n in counts.items():
            if not self._took(key, batch):
                self.counters[key] = self.counters.get(key, Decimal(0)) + n
                changed += 1
        for gauge, move in moves.items():
            if not self._took(gauge, batch):
                self.gauge_values[gauge] = self.gauge_values.get(gauge, 0) + move
                changed += 1
        return changed

    def note_hot(self, leads: Iterable[Fact], expires_at: int) -> None:
        for lead in leads:
            self.leads.setdefault(lead.at[:10], {})[f"{lead.contact_id}#{lead.name}"] = {
                "contact_id": lead.contact_id,
                "score": lead.name,
                "value": lead.value or "0",
                "at": lead.at,
            }

    def series(self, names: Iterable[str], first: str, last: str) -> dict[str, dict[str, Decimal]]:
        found: dict[str, dict[str, Decimal]] = {name: {} for name in names}
        for (series, day), n in self.counters.items():
            if series in found and first <= day <= last:
                found[series][day] = n
                self.reads += 1
        return found

    def gauges(self) -> dict[str, int]:
        self.reads += len(self.gauge_values)
        return dict(self.gauge_values)

    def hot(self, day: str, limit: int) -> list[dict[str, str]]:
        found = list(self.leads.get(day, {}).values())[:limit]
        self.reads += len(found)
        return found


class MemoryPeopleIndex:
    """The people index (PeopleIndex) as sorted partitions; `page` goes on from its cursor as
    the DynamoDB one does (the partition's position, then the last sort key)."""

    def __init__(self) -> None:
        self.partitions: dict[str, set[str]] = {}

    def apply(self, puts: Iterable[tuple[str, str]], deletes: Iterable[tuple[str, str]]) -> None:
        for pk, sk in puts:
            self.partitions.setdefault(pk, set()).add(sk)
        for pk, sk in deletes:
            self.partitions.get(pk, set()).discard(sk)

    def starting(self, partitions: list[str], prefix: str, limit: int) -> list[str]:
        found = [
            sk for pk in partitions for sk in sorted(self.partitions.get(pk, ())) if sk.startswith(prefix)
        ]
        return sorted(found)[:limit]

    def page(self, partitions: list[str], limit: int, cursor: str | None) -> tuple[list[str], str | None]:
        every = [(at, sk) for at, pk in enumerate(partitions) for sk in sorted(self.partitions.get(pk, ()))]
        start = 0
        if cursor:
            mark, _, after = cursor.partition("|")
            start = next((i for i, (at, sk) in enumerate(every) if (at, sk) > (int(mark), after)), len(every))
        taken = every[start : start + limit]
        left = start + limit < len(every)
        return [sk for _, sk in taken], (f"{taken[-1][0]}|{taken[-1][1]}" if left and taken else None)
