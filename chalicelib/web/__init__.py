"""Assets the API serves."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=2)
def script(name: str) -> str:
    """tag.js or form.js as served: the readable source without its indentation."""
    source = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return "\n".join(line.strip() for line in source.splitlines() if line.strip()) + "\n"


def tag_js() -> str:
    """Every byte of it is on every page of the site."""
    return script("tag.js")
