"""The console's figures: kept as the streams deliver, read by the overview.

The events stream's new entries add to per-day series and note hot leads; the contacts
stream's changes move the gauges and the people index behind them (who is in each grade and
RFM cell, and under which names).  Drawing the overview reads one query per series and one
for the gauges -- days x series items, whatever the number of contacts -- and the few people
who turned hot today; a cell's people or a name search read one page of the index per shard.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chalicelib.domain import people_index
from chalicelib.domain.contact import Contact, display_name
from chalicelib.domain.figures import SERIES, Fact, day_counts, day_range, gauge_moves, hot_leads, overview
from chalicelib.domain.limits import ADMIN_PAGE
from chalicelib.services.console_ports import FigureBook, PeopleIndex
from chalicelib.services.ports import Clock, ContactRepository

HOT_SHOWN = 20
HOT_KEPT_SECONDS = 100 * 86400


class Figures:
    def __init__(
        self,
        book: FigureBook,
        index: PeopleIndex,
        people: ContactRepository,
        clock: Clock,
        country: str = "JP",
    ) -> None:
        self._book = book
        self._country = country  # of a phone number written without its country code
        self._index = index
        self._people = people
        self._clock = clock

    def on_events(self, facts: list[Fact], batch: str) -> None:
        """New timeline entries and hits (one stream batch, named by its first record)."""
        leads = hot_leads(facts)
        if leads:
            self._book.note_hot(leads, int(self._clock()) + HOT_KEPT_SECONDS)
        counts = day_counts(facts)
        if counts:
            self._book.add(batch, counts, {})

    def on_contacts(
        self, changes: Sequence[tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]], batch: str
    ) -> None:
        """Contacts as they were and are (None: not there) -- one stream batch."""
        self._index.apply(
            *people_index.index_moves(changes, self._country)
        )  # first: puts and deletes repeat safely
        moves = gauge_moves(changes)
        if moves:
            self._book.add(batch, {}, moves)

    def in_cell(self, cell: str, limit: int, cursor: str | None) -> dict[str, Any]:
        """The people a grid cell counts ('grade:A1', 'rfm:54'), a page at a time; BadCellError
        for any other cell."""
        partitions = people_index.cell_partitions(cell)
        emails, next_cursor = self._index.page(partitions, max(1, min(limit, ADMIN_PAGE)), cursor)
        return {"cell": cell, "contacts": self._rows(emails), "next_cursor": next_cursor}

    def named(self, typed: str, limit: int) -> dict[str, Any]:
        """The people whose name (or family or given name) starts with what was typed."""
        partitions, prefix = people_index.name_partitions(typed[: people_index.NAME_LONGEST])
        limit = max(1, min(limit, 50))
        keys = self._index.starting(partitions, prefix, limit * 5) if prefix else []  # 5 names a person
        emails = list(dict.fromkeys(people_index.email_of(key) for key in keys))[:limit]
        return {"name": typed[: people_index.NAME_LONGEST], "contacts": self._rows(emails)}

    def _rows(self, emails: list[str]) -> list[dict[str, str]]:
        found = {str(c.get("email")): c for c in self._people.by_emails(emails)} if emails else {}
        return [_row(found[email]) for email in emails if email in found]  # erased since: gone

    def overview(self, params: Mapping[str, str]) -> dict[str, Any]:
        """The overview over `range=` (today, 7d, 30d, 90d) or `from=`/`to=`; BadInputError names
        what is wrong with the range."""
        today = datetime.fromtimestamp(self._clock(), UTC).date()
        span = day_range(params, today)
        series = self._book.series(SERIES, span.first.isoformat(), span.last.isoformat())
        numbers = overview(span, series, self._book.gauges())
        numbers["today"] = today.isoformat()
        numbers["hot_today"] = self.hot_leads(today.isoformat())
        return numbers

    def series(self, names: Sequence[str], first: str, last: str) -> dict[str, dict[str, Decimal]]:
        """Named per-day series between two days (ISO, inclusive): series -> day -> sum."""
        return self._book.series(names, first, last)

    def hot_leads(self, day: str) -> list[dict[str, str]]:
        """Who turned hot on the day, newest first, with what sales needs to call them."""
        shown = []
        for lead in sorted(self._book.hot(day, HOT_SHOWN), key=lambda lead: lead["at"], reverse=True):
            person = self._people.by_id(lead["contact_id"])
            if person is None:
                continue  # erased since
            shown.append(
                {
                    **lead,
                    "email": str(person.get("email", "")),
                    "name": str(person.get("name") or ""),
                    "company": str(person.get("company") or ""),
                    "grade": str(person.get("grade") or ""),
                }
            )
        return shown


def _row(person: Contact) -> dict[str, str]:
    fields = ("contact_id", "email", "company", "grade", "rfm", "status")
    return {"name": display_name(person), **{f: str(person.get(f) or "") for f in fields}}
