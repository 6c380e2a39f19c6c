"""How `make bench` reports: one JSON object per figure on stdout, progress on stderr, and every
figure kept for the ones computed from others (costs, ratios)."""

from __future__ import annotations

import json
import sys

FIGURES = sys.stdout  # kept before run.main() points sys.stdout at stderr
SEEN: dict[str, float] = {}


def figure(name: str, value: float, unit: str, target: float | None, better: str) -> None:
    line = {"name": name, "value": round(value, 4 if abs(value) < 1 else 2), "unit": unit, "target": target}
    line["better"] = better
    SEEN[name] = value
    print(json.dumps(line), file=FIGURES, flush=True)


def ratio(name: str, value: float, floor: float, target: float | None, better: str = "lower") -> None:
    """`value` over its floor, measured in the same run on the same input."""
    figure(name, value / floor, "x", target, better)


def logs_to_stderr() -> None:
    """Sodate's own log lines (Powertools writes them to the stdout it found at import) go to
    stderr with the progress, so stdout holds figures alone."""
    import logging

    for handler in logging.getLogger("sodate").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def passed_on(out: str) -> None:
    """Figures a child process printed: shown, and kept like our own."""
    for line in out.splitlines():
        if line.startswith('{"name"'):
            SEEN[json.loads(line)["name"]] = json.loads(line)["value"]
    FIGURES.write(out)
    FIGURES.flush()
