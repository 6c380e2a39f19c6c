"""Two marketers apply files of different kinds at the same moment: each file was checked
against the other kind's version in force before.  The set in force must still compile
afterwards: the file that lost the race is checked again against the new set, and applied if
it fits or refused with a reason that names what changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.domain.definitions.compile import DefinitionsRejectedError
from chalicelib.domain.errors import BadInputError
from chalicelib.services.definitions import DefinitionsService
from tests.fakes import FakeClock, MemoryDefinitionVersions, MemoryFiles

SCORING_V1 = b"""
scores:
  - name: interest
    half_life_days: 14
    bands: [10, 30, 50]
    rules:
      - {name: pricing, viewed: "/pricing*", points: 15}
engagement: interest
"""
SEGMENTS_V1 = b"""
segments:
  - name: mailable
    rule: {field: status, eq: subscribed}
"""
HOT_LEADS = (
    SEGMENTS_V1
    + b"""  - name: hot_leads
    rule: {score: interest, gte: 50}
"""
)  # fits scoring v1 only
RENAMED = SCORING_V1.replace(b"interest", b"attention")  # fits segments v1 only
BUYERS = (
    SEGMENTS_V1
    + b"""  - name: prospects
    rule: {customer: new}
"""
)  # fits either scoring


class Interleaved(MemoryDefinitionVersions):
    """The next activate() waits while `meanwhile` runs whole (another container's apply)."""

    def __init__(self) -> None:
        super().__init__()
        self.meanwhile: Callable[[], Any] | None = None

    def activate(self, *args: Any, **kwargs: Any) -> int:
        run, self.meanwhile = self.meanwhile, None
        if run is not None:
            run()
        return super().activate(*args, **kwargs)


def installed() -> tuple[Interleaved, DefinitionsService, DefinitionsService]:
    store = Interleaved()
    first = DefinitionsService(store, MemoryFiles(), FakeClock())
    first.submit("scoring", SCORING_V1, "scoring.yaml")
    first.submit("segments", SEGMENTS_V1, "segments.yaml")
    return store, first, DefinitionsService(store, MemoryFiles(), FakeClock())  # another container


def in_force(store: Interleaved) -> dict[str, int]:
    """What every evaluation, tick, form and stream batch reads first: it must compile."""
    fresh = DefinitionsService(store, MemoryFiles(), FakeClock())
    fresh.in_force()
    return {kind: version.number for kind, version in store.active(("scoring", "segments")).items()}


def test_a_segment_file_that_no_longer_fits_the_scoring_applied_meanwhile_is_refused_saying_why():
    store, marketer_a, marketer_b = installed()
    answers: dict[str, Any] = {}
    store.meanwhile = lambda: answers.setdefault(
        "scoring", marketer_b.submit("scoring", RENAMED, "scoring.yaml")
    )

    with pytest.raises(DefinitionsRejectedError) as refused:
        marketer_a.submit("segments", HOT_LEADS, "segments.yaml")

    assert answers["scoring"]["status"] == "applied"
    first = refused.value.issues[0]
    assert first.file == "segments.yaml" and "scoring.yaml was changed (now version 2)" in first.message
    assert any("interest" in issue.message for issue in refused.value.issues[1:])
    assert in_force(store) == {"scoring": 2, "segments": 1}


def test_a_file_that_still_fits_the_kind_applied_meanwhile_is_applied_too():
    store, marketer_a, marketer_b = installed()
    answers: dict[str, Any] = {}
    store.meanwhile = lambda: answers.setdefault(
        "scoring", marketer_b.submit("scoring", RENAMED, "scoring.yaml")
    )

    applied = marketer_a.submit("segments", BUYERS, "segments.yaml")

    assert (applied["status"], applied["version"], answers["scoring"]["status"]) == ("applied", 2, "applied")
    assert applied["summary"]["segments"] == ["mailable", "prospects"]
    assert in_force(store) == {"scoring": 2, "segments": 2}


def test_a_restore_racing_an_apply_of_another_kind_is_checked_again_against_it():
    # GIVEN scoring renamed its score, and a marketer restores the old scoring file
    store, marketer_a, marketer_b = installed()
    marketer_a.submit("scoring", RENAMED, "scoring.yaml")
    on_attention = (
        SEGMENTS_V1
        + b"""  - name: hot_leads
    rule: {score: attention, gte: 50}
"""
    )
    store.meanwhile = lambda: marketer_b.submit("segments", on_attention, "segments.yaml")

    # WHEN, while the restore is checked, a segment on the new score is applied
    with pytest.raises(DefinitionsRejectedError) as refused:
        marketer_a.restore("scoring", 1)

    # THEN the restore is refused for the segment file applied meanwhile; the set still compiles
    assert "segments.yaml was changed (now version 2)" in refused.value.issues[0].message
    assert in_force(store) == {"scoring": 2, "segments": 2}


def test_the_same_kind_applied_twice_at_once_is_still_one_winner_and_one_send_it_again():
    store, marketer_a, marketer_b = installed()
    store.meanwhile = lambda: marketer_b.submit("segments", BUYERS, "segments.yaml")

    with pytest.raises(BadInputError, match="segments changed while this version was checked"):
        marketer_a.submit("segments", HOT_LEADS, "segments.yaml")

    assert in_force(store) == {"scoring": 1, "segments": 2}


def test_another_kind_applied_again_and_again_meanwhile_ends_in_a_send_it_again_not_a_broken_set():
    store, marketer_a, marketer_b = installed()
    numbers = iter(range(2, 100))

    def another_scoring() -> None:
        marketer_b.submit("scoring", SCORING_V1 + f"# {next(numbers)}\n".encode(), "scoring.yaml")
        store.meanwhile = another_scoring  # and again at the next activation

    store.meanwhile = another_scoring
    with pytest.raises(BadInputError, match="scoring kept changing while this segments version"):
        marketer_a.submit("segments", HOT_LEADS, "segments.yaml")
    store.meanwhile = None

    assert in_force(store)["segments"] == 1
