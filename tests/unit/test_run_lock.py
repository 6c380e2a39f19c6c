"""One local stack per checkout: the lock `make run` takes, refuses with, and clears when stale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devstack import lock, state


def test_the_lock_is_taken_once_and_says_where_the_stack_answers(tmp_path: Path) -> None:
    held = lock.take(tmp_path)
    lock.describe(held, api="http://127.0.0.1:8000", emulator="http://127.0.0.1:4566")
    with pytest.raises(lock.StackRunningError) as refused:
        lock.take(tmp_path)
    said = str(refused.value)
    assert "already running" in said and "http://127.0.0.1:8000" in said and f"kill {os.getpid()}" in said
    lock.release(held)
    assert not held.exists()
    assert lock.take(tmp_path).exists(), "free again once released"


@pytest.mark.parametrize(
    "content",
    ["{not json", json.dumps({"pid": "x"}), json.dumps([1]), "DEAD", "OTHER"],
)
def test_a_stale_lock_is_cleared(tmp_path: Path, content: str) -> None:
    if content == "DEAD":  # a stack that was killed: its process is gone
        child = subprocess.Popen([sys.executable, "-c", "pass"])
        child.wait()
        content = json.dumps({"pid": child.pid, "api": "http://127.0.0.1:1"})
    sleeper = None
    if content == "OTHER":  # the machine restarted and another program got the old id
        sleeper = subprocess.Popen(["sleep", "30"])
        content = json.dumps({"pid": sleeper.pid})
    (tmp_path / "run.lock").write_text(content)
    try:
        held = lock.take(tmp_path)
        assert json.loads(held.read_text()) == {"pid": os.getpid()}
    finally:
        if sleeper:
            sleeper.kill()


def test_make_reset_is_refused_while_the_stack_runs_and_forgets_the_data_after(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / state.NAME / "meta.json"
    saved.parent.mkdir()
    saved.write_text("{}")
    held = lock.take(tmp_path)  # this process plays the running stack
    assert state.main(["--local-dir", str(tmp_path)]) == 1
    assert saved.exists() and "Stop it first" in capsys.readouterr().err
    lock.release(held)
    assert state.main(["--local-dir", str(tmp_path)]) == 0
    assert not saved.parent.exists() and "Forgot" in capsys.readouterr().out
    assert state.main(["--local-dir", str(tmp_path)]) == 0
    assert "Nothing saved" in capsys.readouterr().out
