"""Messages Sodate sends itself through the work queue, to carry on in a new Lambda run:
an import's continuation, the re-evaluation of everyone after new definitions, the daily date
pass (birthdays and the like) going on, and an erasure's second sweep."""

from __future__ import annotations

import json
from typing import Any

CONTINUE_IMPORT = "sodate.continue-import"


def continuation(import_id: str) -> str:
    return json.dumps({"type": CONTINUE_IMPORT, "import_id": import_id})


REEVALUATE = "sodate.reevaluate"
DATE_PASS = "sodate.date-pass"
SWEEP_ERASED = "sodate.sweep-erased"


def reevaluation(stamp: str, start: dict[str, Any] | None) -> str:
    """`stamp` names the definition versions it is for; `start` is where the scan goes on."""
    return json.dumps({"type": REEVALUATE, "stamp": stamp, "start": start})


def date_pass(day: str, start: dict[str, Any] | None) -> str:
    """`day` (ISO) is the pass's UTC day; `start` is where its scan goes on."""
    return json.dumps({"type": DATE_PASS, "day": day, "start": start})


def sweep_erased(contact_id: str) -> str:
    """An erased person's history, swept again once every container's caches have let them go."""
    return json.dumps({"type": SWEEP_ERASED, "contact_id": contact_id})
