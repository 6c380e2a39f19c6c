"""A definition file as data, with the line of every part.

YAML (JSON is YAML too) is composed into nodes first, so each key and list
item keeps its line; errors then say `segments.yaml line 14, segments[2].rule`.
Anchors and aliases are refused (they can multiply a small file into a huge
one), and so is anything but plain mappings, lists, text, numbers and booleans.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from ..limits import DEFINITION_BYTES, MAX_NESTING, TooDeepError, check_nesting

MAX_BYTES = DEFINITION_BYTES


@dataclass(frozen=True)
class Issue:
    file: str
    line: int | None
    field: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        line = f" line {self.line}" if self.line else ""
        return f"{self.file}{line}, {self.field or '(file)'}: {self.message}"


@dataclass(frozen=True)
class Document:
    file: str
    data: Any
    lines: dict[str, int]

    def line_of(self, where: str) -> int | None:
        """The line of `where` or of the nearest part that holds it."""
        path = where
        while True:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            if cut <= 0:
                return self.lines.get("")
            path = path[:cut]

    def issue(self, where: str, message: str) -> Issue:
        return Issue(self.file, self.line_of(where), where, message)


class SourceError(ValueError):
    def __init__(self, issue: Issue) -> None:
        super().__init__(str(issue))
        self.issue = issue


def load(text: bytes | str, file: str) -> Document:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if len(raw) > MAX_BYTES:
        raise SourceError(Issue(file, None, "", f"the file is larger than {MAX_BYTES // 1024} KiB"))
    try:
        source = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SourceError(Issue(file, None, "", f"the file is not UTF-8 ({error.reason})")) from None
    try:
        check_nesting(source, "the file")
    except TooDeepError as error:
        raise SourceError(Issue(file, None, "", str(error))) from None
    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader)
    except RecursionError:  # block-style nesting, by indentation alone
        raise SourceError(
            Issue(file, None, "", f"the file is nested deeper than {MAX_NESTING} levels")
        ) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        raise SourceError(Issue(file, line, "", f"not valid YAML or JSON: {error.problem}")) from None
    except yaml.YAMLError as error:
        raise SourceError(Issue(file, None, "", f"not valid YAML or JSON: {error}")) from None
    if root is None:
        raise SourceError(Issue(file, None, "", "the file is empty"))
    lines: dict[str, int] = {}
    data = _build(root, "", lines, set(), file, 0)
    return Document(file, data, lines)


def _build(node: yaml.Node, path: str, lines: dict[str, int], seen: set[int], file: str, depth: int) -> Any:
    if depth > MAX_NESTING:
        raise SourceError(
            Issue(file, node.start_mark.line + 1, path, f"nested deeper than {MAX_NESTING} levels")
        )
    if id(node) in seen:
        raise SourceError(
            Issue(file, node.start_mark.line + 1, path, "anchors and aliases are not supported")
        )
    seen.add(id(node))
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.SafeLoader.construct_scalar(yaml.SafeLoader(""), key_node)  # type: ignore[arg-type]
            if not isinstance(key_node, yaml.ScalarNode):
                raise SourceError(Issue(file, key_node.start_mark.line + 1, path, "keys must be plain words"))
            child = f"{path}.{key}" if path else str(key)
            if key in out:
                raise SourceError(Issue(file, key_node.start_mark.line + 1, child, "this key appears twice"))
            lines[child] = key_node.start_mark.line + 1
            out[str(key)] = _build(value_node, child, lines, seen, file, depth + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(item, f"{path}[{i}]", lines, seen, file, depth + 1) for i, item in enumerate(node.value)
        ]
    value = yaml.SafeLoader("").construct_object(node)
    if not isinstance(value, (str, int, float, bool)) and value is not None:
        return str(node.value)  # dates and other YAML types stay as written
    return value


def top(doc: Document, allowed: tuple[str, ...], issues: list[Issue]) -> Any:
    """The file's mapping (None if it is not one); keys it should not have are reported."""
    if not isinstance(doc.data, dict):
        issues.append(doc.issue("", f"expected a mapping with {', '.join(allowed)}"))
        return None
    for key in doc.data:
        if key not in allowed:
            issues.append(doc.issue(str(key), f"unexpected key (allowed: {', '.join(allowed)})"))
    return doc.data
