"""Assets the API serves."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

_TIGHT = re.compile(r"[ \t]*([{}()\[\];,:=+!&|?<>*-])[ \t]*")
_STRINGS = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")


def _tight(line: str) -> str:
    """No spaces beside punctuation, outside string literals (their regular expressions hold none)."""
    parts = _STRINGS.split(line.strip())
    return "".join(part if i % 2 else _TIGHT.sub(r"\1", part) for i, part in enumerate(parts))


@lru_cache(maxsize=2)
def script(name: str) -> str:
    """tag.js or form.js as served: the readable source, compacted -- no indentation, no spaces
    beside punctuation outside strings, and lines joined where that cannot change the meaning
    (after { ; , ( or a } that the next line does not continue).  Every byte is on every page."""
    source = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    out = ""
    for line in (_tight(line) for line in source.splitlines()):
        if not line:
            continue
        joins = out[-1:] in ("{", ";", ",", "(") or (out[-1:] == "}" and line[0] not in "([+-/`")
        out += line if not out or joins else "\n" + line
    return out + "\n"


def tag_js() -> str:
    """Every byte of it is on every page of the site."""
    return script("tag.js")
