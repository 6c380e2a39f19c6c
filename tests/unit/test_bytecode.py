"""make deploy ships chalicelib's bytecode, checked by hash, so Lambda compiles none of it."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from infra.bytecode import compile_package


def _project(tmp_path: Path, source: str) -> Path:
    package = tmp_path / "chalicelib"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "greeting.py").write_text(source)
    return tmp_path


def _flags(pyc: Path) -> int:
    return int.from_bytes(pyc.read_bytes()[4:8], "little")  # PEP 552: 0b11 = checked hash


def test_every_module_gets_bytecode_checked_by_its_sources_hash(tmp_path):
    project = _project(tmp_path, "WORD = 'こんにちは'\n")
    assert compile_package(project)
    for module in ("__init__", "greeting"):
        pyc = Path(importlib.util.cache_from_source(str(project / "chalicelib" / f"{module}.py")))
        assert pyc.exists() and _flags(pyc) == 0b11


def test_an_edit_after_the_compile_is_what_runs_and_a_broken_module_stops_the_deploy(tmp_path):
    project = _project(tmp_path, "WORD = 'before'\n")
    assert compile_package(project)
    (project / "chalicelib" / "greeting.py").write_text("WORD = 'after'\n")
    read = subprocess.run(
        [sys.executable, "-c", "from chalicelib.greeting import WORD; print(WORD)"],
        cwd=project,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert read.stdout.strip() == "after"
    (project / "chalicelib" / "greeting.py").write_text("WORD = (\n")
    assert not compile_package(project)
