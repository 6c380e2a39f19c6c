"""Definitions in force: accept a new version (from the bucket or the API), or refuse it.

A file dropped at `config/<kind>.yaml` (or .yml, .json) gets a report at
`results/config/<file>.json`.  A version is compiled together with the active
versions of the other kinds; anything wrong leaves every active version as it
was.  Containers keep the compiled set for a few seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib import clock
from chalicelib.domain.commerce import RfmBounds
from chalicelib.domain.definitions.compile import (
    EVALUATED,
    KINDS,
    Definitions,
    DefinitionsRejectedError,
    compile_set,
)
from chalicelib.domain.definitions.source import Document, Issue, SourceError, load
from chalicelib.domain.definitions.versions import StaleVersionError, Version
from chalicelib.domain.errors import BadInputError, NotFoundError
from chalicelib.domain.scenarios import Scenario
from chalicelib.services.ports import Clock, DefinitionVersions, Files

CACHE_SECONDS = 10
RECHECKS = 3  # checks of one file when other kinds keep being applied while it is checked
EXTENSIONS = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class InForce:
    definitions: Definitions
    rfm: RfmBounds | None


class DefinitionsService:
    def __init__(
        self,
        store: DefinitionVersions,
        files: Files,
        clock: Clock,
        on_change: Callable[[str], None] = lambda stamp: None,
    ) -> None:
        self._store = store
        self._files = files
        self._clock = clock
        self._on_change = on_change  # everyone is evaluated again under the new set
        self._cached: tuple[float, InForce] | None = None
        self._older: dict[int, dict[str, Scenario]] = {}

    def in_force(self) -> InForce:
        if self._cached and clock.stopwatch() - self._cached[0] < CACHE_SECONDS:
            return self._cached[1]
        active = self._store.active(KINDS)
        documents = {kind: load(v.text, v.file) for kind, v in active.items()}
        definitions = compile_set(documents, {kind: v.number for kind, v in active.items()})
        population = self._store.population("rfm")
        found = InForce(definitions, RfmBounds.from_json(population) if population else None)
        self._cached = (clock.stopwatch(), found)
        return found

    def scenarios_of_version(self, number: int) -> dict[str, Scenario]:
        """The scenarios as an earlier version of scenarios.yaml defined them (people who
        entered under it finish on it), checked against the other definitions in force."""
        if number not in self._older:
            for version in self._store.versions("scenarios", limit=1000):
                if version.number == number:
                    active = self._store.active(KINDS)
                    documents: dict[str, Document | None] = {
                        k: load(v.text, v.file) for k, v in active.items()
                    }
                    documents["scenarios"] = load(version.text, version.file)
                    try:
                        found = compile_set(documents, {"scenarios": number}).journeys.scenarios
                    except DefinitionsRejectedError:
                        found = {}  # it named something that is gone: its people move or wait
                    self._older[number] = found
                    break
            else:
                return {}
        return self._older[number]

    def forget(self) -> None:
        self._cached = None

    def save_population(self, name: str, data: dict[str, Any]) -> None:
        self._store.put_population(name, data)
        self._cached = None

    def submit(self, kind: str, raw: bytes, file: str, apply: bool = True) -> dict[str, Any]:
        """Check and activate (with `apply=False`, only check: status "valid", nothing kept);
        raises DefinitionsRejectedError (every issue) or BadInputError.

        The check compiles the file with the other kinds' active versions, and activation holds
        only while those are still the active ones: when another kind was applied meanwhile,
        the file is checked again against the new set (a few times), so a set that does not
        compile is never put in force."""
        if kind not in KINDS:
            raise NotFoundError(f"No definition kind {kind!r}; the kinds are {', '.join(KINDS)}.")
        try:
            document = load(raw, file)
        except SourceError as error:
            raise DefinitionsRejectedError([error.issue]) from None
        moved: list[str] = []  # kinds someone else put in force while this file was checked
        for _ in range(RECHECKS):
            active = self._store.active(KINDS)
            definitions = _check(kind, document, active, moved)
            replacing = active[kind].number if kind in active else 0
            if not apply:
                return {
                    "kind": kind,
                    "status": "valid",
                    "in_force": replacing,
                    "summary": _summary(kind, definitions),
                }
            against = {k: active[k].number if k in active else 0 for k in KINDS if k != kind}
            try:
                number = self._store.activate(
                    kind, raw.decode("utf-8-sig"), file, _now(self._clock), replacing, against
                )
                break
            except StaleVersionError as error:
                if error.kind == kind:
                    raise BadInputError(
                        f"{kind} changed while this version was checked; send it again."
                    ) from None
                moved.append(error.kind)
        else:
            kinds = ", ".join(dict.fromkeys(moved))
            raise BadInputError(
                f"{kinds} kept changing while this {kind} version was checked; send it again."
            )
        self._cached = None
        if kind in EVALUATED:  # mail and scenarios change no one's scores or segments
            self._on_change(_stamp({**{k: v.number for k, v in active.items()}, kind: number}))
        return {
            "kind": kind,
            "version": number,
            "previous_version": replacing,  # 0: the first version of this kind
            "status": "applied",
            "summary": _summary(kind, definitions),
        }

    def stamp(self) -> str:
        """The versions in force, read now (not from the container's cache)."""
        return _stamp({kind: version.number for kind, version in self._store.active(KINDS).items()})

    def from_bucket(self, key: str) -> dict[str, Any]:
        """A file dropped under config/: apply it or not, and leave a report either way."""
        name = key.split("/", 1)[1] if "/" in key else key
        stem, _, extension = name.rpartition(".")
        report: dict[str, Any] = {"file": key, "checked_at": _now(self._clock)}
        raw = self._files.get_bytes(key)
        if raw is None:
            return {}  # deleted before we got to it
        if "/" in name or f".{extension}" not in EXTENSIONS or stem not in KINDS:
            issue = Issue(
                key, None, "", f"config/ takes {', '.join(k + '.yaml' for k in KINDS)} (or .yml, .json)"
            )
            report |= {"status": "rejected", "errors": [issue.to_json()]}
        else:
            try:
                report |= self.submit(stem, raw, key)
            except DefinitionsRejectedError as error:
                report |= {"status": "rejected", "errors": [i.to_json() for i in error.issues]}
            except BadInputError as error:
                report |= {"status": "rejected", "errors": [Issue(key, None, "", str(error)).to_json()]}
            if report["status"] == "rejected":
                active = self._store.active((stem,))
                report["still_active"] = active[stem].number if stem in active else None
        body = json.dumps(report, ensure_ascii=False, indent=2).encode()
        self._files.put_bytes(f"results/{key}.json", body, "application/json")
        return report

    def describe(self, kind: str) -> dict[str, Any]:
        if kind not in KINDS:
            raise NotFoundError(f"No definition kind {kind!r}; the kinds are {', '.join(KINDS)}.")
        active = self._store.active((kind,))
        if kind not in active:
            raise NotFoundError(f"No {kind} definition has been given yet.")
        version: Version = active[kind]
        return {
            **version.summary(),
            "text": version.text,
            "versions": [v.summary() for v in self._store.versions(kind)],
        }

    def restore(self, kind: str, number: int) -> dict[str, Any]:
        """Roll back: version `number`'s text, checked again against what is in force now, becomes
        the newest version (the history keeps everything in between)."""
        old = self.version(kind, number)
        return self.submit(kind, old["text"].encode("utf-8"), f"restore:{kind}:{number}")

    def version(self, kind: str, number: int) -> dict[str, Any]:
        for version in self._store.versions(kind, limit=1000):
            if version.number == number:
                return {**version.summary(), "text": version.text}
        raise NotFoundError(f"{kind} has no version {number}.")


def _check(kind: str, document: Document, active: dict[str, Version], moved: list[str]) -> Definitions:
    """The file compiled with the other kinds' active versions; when it no longer fits because
    someone applied another kind while it was checked, the refusal says so first."""
    documents: dict[str, Document | None] = {k: load(v.text, v.file) for k, v in active.items() if k != kind}
    documents[kind] = document
    try:
        return compile_set(documents)
    except DefinitionsRejectedError as error:
        if not moved:
            raise
        changed = [
            Issue(
                document.file,
                None,
                "",
                f"{other}.yaml was changed (now version {active[other].number}) while this file was"
                " checked; checked again against it, this file no longer fits",
            )
            for other in dict.fromkeys(moved)
            if other in active
        ]
        raise DefinitionsRejectedError(changed + error.issues) from None


def _stamp(numbers: dict[str, int]) -> str:
    return ",".join(f"{kind}:{numbers[kind]}" for kind in EVALUATED if kind in numbers)


def _summary(kind: str, definitions: Definitions) -> dict[str, Any]:
    if kind == "catalogue":
        return {"products": len(definitions.catalogue)}
    if kind == "scoring":
        return {
            "scores": sorted(definitions.scores),
            "profile_grades": [g for g, _ in definitions.profile],
            "sales_alerts": len(definitions.sales_alerts),
        }
    if kind == "templates":
        return {"templates": sorted(definitions.mailing.templates)}
    if kind == "scenarios":
        return {"scenarios": sorted(definitions.journeys.scenarios)}
    if kind == "forms":
        return {"forms": sorted(definitions.forms.forms), "topics": sorted(definitions.forms.topics)}
    return {"segments": [s.name for s in definitions.segments]}


def _now(clock: Callable[[], float]) -> str:
    return datetime.fromtimestamp(clock(), UTC).isoformat(timespec="seconds")
