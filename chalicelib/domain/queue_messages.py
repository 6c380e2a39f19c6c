"""The message an import sends itself to carry on in a new Lambda run: one shape, one place."""

from __future__ import annotations

import json

CONTINUE_IMPORT = "sodate.continue-import"


def continuation(import_id: str) -> str:
    return json.dumps({"type": CONTINUE_IMPORT, "import_id": import_id})
