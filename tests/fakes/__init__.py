"""One in-memory fake per port (chalicelib/services/ports.py): instant, inspectable, and strict
where the real adapter is (conditional writes refuse what DynamoDB would).

Each fake is imported from its module on first use, so `make bench`, which takes the import's
fakes alone, measures the importer and not the rest of the house."""

from __future__ import annotations

import importlib
from typing import Any

_HOME = {
    "MemoryConsentLedger": "consent",
    "MemoryContactStore": "imports",
    "MemoryFiles": "imports",
    "MemoryLedger": "imports",
    "QueuedWork": "imports",
    "csv_bytes": "imports",
    "MemoryJourneys": "journeys",
    "MemoryBuckets": "channels",
    "MemoryShortLinks": "channels",
    "RecordingLine": "channels",
    "RecordingSms": "channels",
    "MemoryPeopleIndex": "figures",
    "FakeClock": "outside",
    "MemoryDefinitionVersions": "outside",
    "MemoryParking": "outside",
    "MemorySites": "outside",
    "RecordingAlerts": "outside",
    "RecordingPost": "outside",
    "RecordingTransport": "outside",
    "MemoryPeople": "people",
    "MemorySegments": "people",
    "MemorySignups": "consent",
    "MemoryUsers": "console",
    "MemoryConsoleTable": "console",
    "MemoryFigureBook": "figures",
}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"tests.fakes has no {name}")
    return getattr(importlib.import_module(f"tests.fakes.{_HOME[name]}"), name)
