"""Kept versions of a definition file: every accepted one, and which is in force."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Version:
    kind: str
    number: int
    text: str
    file: str
    at: str

    def summary(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": self.number, "file": self.file, "at": self.at}


class StaleVersionError(Exception):
    """Another version was put in force since this one was checked: of `kind`, the file's own
    kind, or one of the kinds it was checked against."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind
