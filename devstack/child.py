"""`make run` as a child process on free ports (the end-to-end tests and the restart bench):
started in a session of its own, so `stop` can press Ctrl-C the way a terminal does -- to the
whole process group, the emulator included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORTS = ("--moto-port", "0", "--api-port", "0")


class LaunchError(RuntimeError):
    pass


def launch(local: Path, *extra: str, timeout: float = 120) -> subprocess.Popen[bytes]:
    """Start it with its data under `local`; return once it has written its settings (after a
    restore, if there was one).  What it prints goes to `local/run.out`."""
    local.mkdir(parents=True, exist_ok=True)
    settings_file = local / "env"
    settings_file.unlink(missing_ok=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SODATE_"))}
    with (local / "run.out").open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack.run", "--local-dir", str(local), *PORTS, *extra],
            cwd=ROOT,
            env=clean,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while not settings_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise LaunchError(f"make run did not come up:\n{printed(local)}")
        time.sleep(0.05)
    return process


def settings(local: Path) -> dict[str, str]:
    lines = (local / "env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def stop(process: subprocess.Popen[bytes], timeout: float = 120) -> int:
    """Ctrl-C in its terminal: SIGINT to the whole group; returns its exit status."""
    os.killpg(process.pid, signal.SIGINT)
    return process.wait(timeout=timeout)


def printed(local: Path) -> str:
    try:
        return (local / "run.out").read_text(errors="replace")
    except OSError:
        return ""
