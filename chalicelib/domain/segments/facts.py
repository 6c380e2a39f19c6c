"""What a rule is evaluated against: one contact, as of one moment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class Visit:
    path: str
    at: datetime


@dataclass
class Facts:
    contact: dict[str, Any]
    now: datetime
    scores: dict[str, float] = field(default_factory=dict)  # already decayed to `now`
    grade: str = ""  # "A1".."D4"
    visits: list[Visit] = field(default_factory=list)  # recent page views, any order
    events: dict[str, datetime] = field(default_factory=dict)  # event name -> last time
    segments: frozenset[str] = frozenset()  # segments the contact is in (for rules naming others)
    products: dict[str, date] = field(default_factory=dict)  # sku -> last day bought
    rfm: str = ""  # "RFM" digits such as "545"; "" for someone who never bought

    @property
    def today(self) -> date:
        return self.now.date()
