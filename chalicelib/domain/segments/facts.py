"""What a rule is evaluated against: one contact, as of one moment."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..commerce import orders, rfm_group


@dataclass(frozen=True)
class Visit:
    path: str
    at: datetime
    ts: float = field(init=False, repr=False, compare=False)  # epoch seconds, for fast windows

    def __post_init__(self) -> None:
        object.__setattr__(self, "ts", self.at.timestamp())


@dataclass(slots=True)
class Facts:
    contact: dict[str, Any]
    now: datetime
    scores: dict[str, float] = field(default_factory=dict)  # already decayed to `now`
    grade: str = ""  # "A1".."D4"
    visits: list[Visit] = field(default_factory=list)  # recent page views, any order
    events: dict[str, datetime] = field(default_factory=dict)  # event name -> last time
    segments: AbstractSet[str] = frozenset()  # segments the contact is in (for rules naming others)
    products: dict[str, date] = field(default_factory=dict)  # sku -> last day bought
    rfm: str = ""  # "RFM" digits such as "545"; "" for someone who never bought

    _orders: int | None = field(default=None, repr=False)
    _rfm_group: str | None = field(default=None, repr=False)
    _today: date | None = field(default=None, repr=False)
    _now_ts: float | None = field(default=None, repr=False)

    @property
    def today(self) -> date:
        if self._today is None:
            self._today = self.now.date()
        return self._today

    @property
    def now_ts(self) -> float:
        if self._now_ts is None:
            self._now_ts = self.now.timestamp()
        return self._now_ts

    @property
    def orders(self) -> int:
        """Orders on record (an import's count, or at least one if any product was bought)."""
        if self._orders is None:
            self._orders = max(orders(self.contact), 1 if self.products else 0)
        return self._orders

    @property
    def rfm_group(self) -> str:
        if self._rfm_group is None:
            self._rfm_group = rfm_group(self.rfm)
        return self._rfm_group
