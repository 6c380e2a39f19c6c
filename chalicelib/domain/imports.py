"""An import's identity (the object S3 says was created), what taking hold of it can find, and a
file as the bucket lists it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum


class Claim(Enum):
    NEW = "new"
    RESUME = "resume"
    DONE = "done"  # a repeated delivery of a finished import
    BUSY = "busy"  # another run holds the lease


@dataclass
class ObjectCreated:
    """A file landed in the bucket; key, ETag and S3's sequencer make each upload one import."""

    key: str
    etag: str
    size: int
    sequencer: str = ""

    @property
    def import_id(self) -> str:
        return hashlib.sha256(f"{self.key}\0{self.etag}\0{self.sequencer}".encode()).hexdigest()[:40]


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    etag: str
    modified: float  # seconds since the epoch
