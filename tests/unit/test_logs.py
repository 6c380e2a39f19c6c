"""Logs: one JSON line per event, its fields as keys, Japanese as it is; nothing printed twice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = """
import app
from chalicelib.services.batches import logger
logger.info("import finished", extra={"file": "imports/顧客.csv", "status": "imported"})
app.app.log.info("through Chalice's own logger")
"""


def test_an_event_is_one_json_line_with_its_fields():
    run = subprocess.run(
        [sys.executable, "-c", PROGRAM], cwd=ROOT, capture_output=True, text=True, check=True
    )
    lines = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]
    assert [e["message"] for e in events] == ["import finished", "through Chalice's own logger"]
    assert events[0]["file"] == "imports/顧客.csv" and events[0]["service"] == "sodate"
    assert "顧客" in lines[0], "not escaped"
