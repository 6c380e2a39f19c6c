"""The console's script and style sheet, built by make from console/ (esbuild, pinned by its
lockfile) into console_static/ beside this module: named by their content's hash, so an answer
may be cached for a year, and each with a gzipped twin for browsers that take gzip."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

HERE = Path(__file__).parent / "console_static"
TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_NAME = re.compile(r"[a-z-]+-[0-9a-f]{12}\.(js|css)\Z")


class AssetsMissingError(RuntimeError):
    """The console was not built: run make (it runs console/build.mjs)."""


@functools.cache
def manifest() -> dict[str, str]:
    """{"console.js": "console-<hash>.js", "console-style.css": ...}"""
    try:
        found = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise AssetsMissingError("the console's assets are not built: run make (console/build.mjs)") from None
    return {str(k): str(v) for k, v in found.items()}


def asset(name: str, gzip: bool) -> tuple[bytes, str, bool] | None:
    """(bytes, content type, gzipped) of one built file; None for anything else."""
    if not _NAME.match(name) or name not in manifest().values():
        return None
    path = HERE / (name + ".gz" if gzip else name)
    try:
        return path.read_bytes(), TYPES[Path(name).suffix], gzip
    except OSError:
        return None
