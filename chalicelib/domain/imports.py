"""What taking hold of an import can find (the ledger answers with one of these)."""

from __future__ import annotations

from enum import Enum


class Claim(Enum):
    NEW = "new"
    RESUME = "resume"
    DONE = "done"  # a repeated delivery of a finished import
    BUSY = "busy"  # another run holds the lease
