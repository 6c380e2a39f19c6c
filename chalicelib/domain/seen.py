"""A compact set of 64-bit fingerprints: 'was this email earlier in the file?'

A Python set of a million strings costs ~100 MB; this open-addressing table
costs 16 bytes a slot, and round-trips through bytes so an import that
continues in another Lambda run keeps counting duplicates exactly.
"""

from __future__ import annotations

import hashlib
from array import array

_EMPTY = 0


def fingerprint(text: str) -> int:
    value = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")
    return value or 1  # 0 marks an empty slot


class SeenSet:
    def __init__(self, capacity: int = 1 << 12) -> None:
        self._slots = array("Q", bytes(8 * capacity))
        self._mask = capacity - 1
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, text: str) -> bool:
        """Add; True when it was already there."""
        return self._add(fingerprint(text))

    def _add(self, value: int) -> bool:
        slots, mask = self._slots, self._mask
        index = value & mask
        while True:
            current = slots[index]
            if current == value:
                return True
            if current == _EMPTY:
                slots[index] = value
                self._count += 1
                if self._count * 2 > len(slots):
                    self._grow()
                return False
            index = (index + 1) & mask

    def _grow(self) -> None:
        old = self._slots
        self._slots = array("Q", bytes(16 * len(old)))
        self._mask = len(self._slots) - 1
        self._count = 0
        for value in old:
            if value != _EMPTY:
                self._add(value)

    def to_bytes(self) -> bytes:
        return array("Q", (v for v in self._slots if v != _EMPTY)).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> SeenSet:
        values = array("Q")
        values.frombytes(data)
        capacity = 1 << 12
        while capacity < 2 * len(values) + 2:
            capacity <<= 1
        seen = cls(capacity)
        for value in values:
            seen._add(value)
        return seen
