"""What the use cases need from the outside world, as Protocols.

The AWS adapters implement these for Lambda; the in-memory fakes in
tests/fakes.py implement them for instant unit tests and for `make bench`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Protocol

from chalicelib.domain.contact import Contact


class ContactStore(Protocol):
    def get_many(self, emails: list[str]) -> dict[str, Contact]: ...
    def suppressed_among(self, emails: list[str]) -> set[str]: ...
    def put_many(self, contacts: list[Contact]) -> None: ...


class FileChangedError(RuntimeError):
    """The object was replaced while it was being imported."""


class Files(Protocol):
    def read_chunks(self, key: str, start: int, etag: str) -> Iterator[bytes]: ...
    def get_bytes(self, key: str) -> bytes | None: ...
    def put_bytes(self, key: str, body: bytes, content_type: str) -> None: ...
    def put_file(self, key: str, body: IO[bytes], content_type: str) -> None: ...
    def delete(self, key: str) -> None: ...


class Continuations(Protocol):
    def continue_import(self, import_id: str) -> None: ...
