"""One in-memory fake per port (chalicelib/services/ports.py): instant, inspectable, and strict
where the real adapter is (conditional writes refuse what DynamoDB would)."""

from tests.fakes.imports import MemoryContactStore, MemoryFiles, MemoryLedger, QueuedWork, csv_bytes
from tests.fakes.journeys import MemoryJourneys
from tests.fakes.outside import (
    FakeClock,
    MemoryDefinitionVersions,
    MemoryParking,
    MemorySites,
    RecordingAlerts,
    RecordingPost,
    RecordingTransport,
)
from tests.fakes.people import MemoryPeople, MemorySegments

__all__ = [
    "FakeClock",
    "MemoryContactStore",
    "MemoryDefinitionVersions",
    "MemoryFiles",
    "MemoryJourneys",
    "MemoryLedger",
    "MemoryParking",
    "MemoryPeople",
    "MemorySegments",
    "MemorySites",
    "QueuedWork",
    "RecordingAlerts",
    "RecordingPost",
    "RecordingTransport",
    "csv_bytes",
]
