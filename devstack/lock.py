"""One stack per checkout: `.local/run.lock` says which process runs it and where it answers.

A second `make run` finds the lock, says where the first one runs and stops, leaving
`.local/env` as it was.  A lock whose process is gone (killed, the machine restarted) is
stale: it is cleared and the new run takes over.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

NAME = "run.lock"


class StackRunningError(RuntimeError):
    def __init__(self, held: dict[str, Any], lock: Path) -> None:
        where = f" at {held['api']}" if held.get("api") else " (still starting)"
        super().__init__(
            f"Sodate is already running in this checkout{where}, process {held.get('pid')}.\n"
            f"Its settings: {lock.parent / 'env'} (set -a; . {lock.parent / 'env'}; set +a).\n"
            f"Stop it with Ctrl-C in its terminal, or: kill {held.get('pid')}"
        )
        self.held = held


def take(local_dir: Path) -> Path:
    """The lock, taken for this process; StackRunningError when a live stack holds it."""
    local_dir.mkdir(parents=True, exist_ok=True)
    lock = local_dir / NAME
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            held = _read(lock)
            if held is not None and _alive(held.get("pid")):
                raise StackRunningError(held, lock) from None
            lock.unlink(missing_ok=True)  # stale: nobody runs it any more
            continue
        with os.fdopen(fd, "w") as out:
            json.dump({"pid": os.getpid()}, out)
        return lock


def describe(lock: Path, **where: str) -> None:
    """Add where the running stack answers (what a second run prints)."""
    held = _read(lock) or {}
    if held.get("pid") == os.getpid():
        tmp = lock.with_suffix(".tmp")
        tmp.write_text(json.dumps({**held, **where}))
        tmp.replace(lock)


def release(lock: Path) -> None:
    held = _read(lock)
    if held is not None and held.get("pid") == os.getpid():
        lock.unlink(missing_ok=True)


def _read(lock: Path) -> dict[str, Any] | None:
    try:
        held = json.loads(lock.read_text())
    except (OSError, ValueError):
        return None
    return held if isinstance(held, dict) else None


def _alive(pid: Any) -> bool:
    """A process with this id runs, and (where /proc tells) it is a Sodate stack, not a process
    that got the id of one that died."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return b"devstack" in cmdline.read_bytes() or pid == os.getpid()
    except OSError:
        return True  # no /proc here: the id is all there is to go by
