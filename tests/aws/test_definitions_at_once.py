"""Two applies of different kinds at the same moment, on the definitions table: the activation
holds only while the versions the file was checked against are still the ones in force."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.domain.definitions.compile import DefinitionsRejectedError
from chalicelib.services.definitions import DefinitionsService
from chalicelib.store.definitions import DefinitionStore
from tests.aws.test_beacons import auth
from tests.fakes import FakeClock, MemoryFiles
from tests.unit.test_definitions_at_once import BUYERS, HOT_LEADS, RENAMED, SCORING_V1, SEGMENTS_V1


class Interleaved(DefinitionStore):
    """The next activate() waits while `meanwhile` runs whole (another container's apply)."""

    meanwhile: Callable[[], Any] | None = None

    def activate(self, *args: Any, **kwargs: Any) -> int:
        run, self.meanwhile = self.meanwhile, None
        if run is not None:
            run()
        return super().activate(*args, **kwargs)


def containers() -> tuple[Interleaved, DefinitionsService, DefinitionsService]:
    store = Interleaved(bootstrap.contact_state()._db, bootstrap.settings().definitions_table)
    first = DefinitionsService(store, MemoryFiles(), FakeClock())
    first.submit("scoring", SCORING_V1, "scoring.yaml")
    first.submit("segments", SEGMENTS_V1, "segments.yaml")
    return store, first, DefinitionsService(store, MemoryFiles(), FakeClock())


def test_two_clashing_applies_at_once_leave_a_set_in_force_that_forms_and_streams_can_use(aws, api):
    store, marketer_a, marketer_b = containers()
    answers: dict[str, Any] = {}
    store.meanwhile = lambda: answers.setdefault(
        "scoring", marketer_b.submit("scoring", RENAMED, "scoring.yaml")
    )

    with pytest.raises(DefinitionsRejectedError) as refused:
        marketer_a.submit("segments", HOT_LEADS, "segments.yaml")

    assert answers["scoring"]["status"] == "applied"
    assert "scoring.yaml was changed (now version 2)" in refused.value.issues[0].message
    bootstrap.definitions().in_force()  # what every evaluation, tick, form and stream batch reads
    segments = api.http.get("/admin/definitions/segments", headers=auth(aws)).json_body
    assert (segments["version"], [v["version"] for v in segments["versions"]]) == (1, [1])


def test_an_apply_that_still_fits_the_other_kind_applied_meanwhile_goes_through(aws, api):
    store, marketer_a, marketer_b = containers()
    store.meanwhile = lambda: marketer_b.submit("scoring", RENAMED, "scoring.yaml")

    assert marketer_a.submit("segments", BUYERS, "segments.yaml")["status"] == "applied"

    definitions = bootstrap.definitions().in_force().definitions
    assert sorted(definitions.scores) == ["attention"]
    assert [s.name for s in definitions.segments] == ["mailable", "prospects"]
