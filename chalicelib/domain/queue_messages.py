"""Messages Sodate sends itself through the work queue, to carry on in a new Lambda run:
an import's continuation, and the re-evaluation of everyone after new definitions."""

from __future__ import annotations

import json
from typing import Any

CONTINUE_IMPORT = "sodate.continue-import"


def continuation(import_id: str) -> str:
    return json.dumps({"type": CONTINUE_IMPORT, "import_id": import_id})


REEVALUATE = "sodate.reevaluate"


def reevaluation(stamp: str, start: dict[str, Any] | None) -> str:
    """`stamp` names the definition versions it is for; `start` is where the scan goes on."""
    return json.dumps({"type": REEVALUATE, "stamp": stamp, "start": start})
