"""The state an import carries from one Lambda run to the next."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from chalicelib.domain.mapping import Column, Mapping
from chalicelib.domain.report import Counts
from chalicelib.domain.textstream import Encoding


@dataclass
class Checkpoint:
    import_id: str
    key: str
    etag: str
    size: int
    started_at: str
    started: float = 0.0  # the same moment by the clock, for the report's rate and time left
    offset: int = 0  # file offset of the next unread record
    next_line: int = 2
    encoding: dict[str, Any] = field(default_factory=dict)
    delimiter: str = ","
    headers: list[str] = field(default_factory=list)
    mapping: dict[str, Any] = field(default_factory=dict)
    counts: Counts = field(default_factory=Counts)
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    runs: int = 0
    error_parts: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        data = json.loads(text)
        data["counts"] = Counts(**data["counts"])
        return cls(**data)

    def set_mapping(self, mapping: Mapping) -> None:
        self.mapping = {
            "columns": [[c.index, c.header, c.target] for c in mapping.columns],
            "source": mapping.source,
            "warnings": list(mapping.warnings),
        }

    def get_mapping(self) -> Mapping:
        columns = tuple(Column(i, h, t) for i, h, t in self.mapping["columns"])
        return Mapping(columns, self.mapping["source"], tuple(self.mapping["warnings"]))

    def set_encoding(self, encoding: Encoding) -> None:
        self.encoding = asdict(encoding)

    def get_encoding(self) -> Encoding:
        return Encoding(**self.encoding)
