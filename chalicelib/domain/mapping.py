"""Which CSV column fills which contact field.

Automatic by synonyms; a saved mapping (a JSON file the marketer keeps in the
bucket) overrides it column by column; columns nobody claims become custom
attributes, so no data is dropped without being asked.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field

from .fields import FIELD_KINDS, SYNONYMS, header_key

ATTR_PREFIX = "attr:"
IGNORE = "ignore"
MAX_COLUMNS = 500
MAX_ATTR_NAME = 64


class MappingError(ValueError):
    """A saved mapping names something that does not exist."""


@dataclass(frozen=True)
class Column:
    index: int
    header: str
    target: str  # a field name, "attr:<name>" or "ignore"


@dataclass(frozen=True)
class Mapping:
    columns: tuple[Column, ...]
    source: str  # "automatic" or the saved mapping's key
    warnings: tuple[str, ...] = field(default=())

    @property
    def has_email(self) -> bool:
        return any(c.target == "email" for c in self.columns)

    def as_report(self) -> dict[str, str]:
        return {c.header or f"(column {c.index + 1})": c.target for c in self.columns}


def resolve_mapping(
    headers: list[str], saved: MappingABC[str, object] | None = None, saved_name: str = ""
) -> Mapping:
    """Saved choices first, then synonyms; a field is filled by one column only."""
    if len(headers) > MAX_COLUMNS:
        raise MappingError(f"The file has {len(headers)} columns; at most {MAX_COLUMNS} are read.")
    overrides = _saved_targets(saved) if saved is not None else {}
    taken: set[str] = set()
    warnings: list[str] = []
    columns = []
    for index, header in enumerate(headers):
        key = header_key(header)
        target = overrides.get(key) or SYNONYMS.get(key) or _attr_target(header, index)
        if target in taken and not target.startswith(ATTR_PREFIX):
            warnings.append(f"Column '{header}' also looks like {target}; kept as a custom attribute.")
            target = _attr_target(header, index)
        if target in taken and target != IGNORE:
            target = f"{ATTR_PREFIX}{target[len(ATTR_PREFIX) :]}_{index + 1}"
        taken.add(target)
        columns.append(Column(index, header, target))
    return Mapping(tuple(columns), saved_name if saved is not None else "automatic", tuple(warnings))


def _attr_target(header: str, index: int) -> str:
    name = " ".join(header.split())[:MAX_ATTR_NAME] or f"column_{index + 1}"
    return ATTR_PREFIX + name


def _saved_targets(saved: MappingABC[str, object]) -> dict[str, str]:
    columns = saved.get("columns")
    if not isinstance(columns, MappingABC):
        raise MappingError('A saved mapping needs a \'columns\' object: {"Header": "field"}.')
    targets = {}
    for header, target in columns.items():
        if target is None or target == IGNORE:
            targets[header_key(str(header))] = IGNORE
        elif isinstance(target, str) and (target in FIELD_KINDS or target.startswith(ATTR_PREFIX)):
            targets[header_key(str(header))] = target
        else:
            known = ", ".join(sorted(FIELD_KINDS))
            raise MappingError(
                f"Saved mapping: column '{header}' maps to '{target}', which is not a field "
                f"({known}), 'attr:<name>' or null."
            )
    return targets
