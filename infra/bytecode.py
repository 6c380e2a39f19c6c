"""Bytecode shipped with the functions, so a cold start does not compile our modules.

Lambda's code directory is read-only: Python cannot write `__pycache__` there, so every cold
start of every function compiles each of our modules from source again -- for the beacon
function, a third of its start beyond `import boto3` (`make bench`:
`beacon_import_time_ratio_to_boto3`).  Chalice packages everything under chalicelib/, so
`make deploy` compiles it first.  The bytecode is checked against its source's hash, not its
time: a zip keeps times to two seconds, which would make time-checked bytecode look stale on
Lambda, and a hash check still catches any edit made after the compile (locally too).  The
runtime must be the Python that compiled it (Chalice deploys the runtime of the Python it runs
under); any other runtime ignores the files and compiles as before.
"""

from __future__ import annotations

import compileall
import py_compile
from pathlib import Path

PACKAGED = "chalicelib"  # what Chalice ships beside app.py (app.py itself it ships as source)


def compile_package(project_dir: Path) -> bool:
    """Compile every module Chalice will ship; False if one does not compile (its error printed)."""
    return bool(
        compileall.compile_dir(
            str(project_dir / PACKAGED),
            quiet=1,
            invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
            workers=1,
        )
    )
