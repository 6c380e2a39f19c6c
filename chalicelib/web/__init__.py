"""Assets the API serves."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def tag_js() -> str:
    """tag.js as served: the readable source without its indentation (every byte is on every page)."""
    source = resources.files(__name__).joinpath("tag.js").read_text(encoding="utf-8")
    return "\n".join(line.strip() for line in source.splitlines() if line.strip()) + "\n"
