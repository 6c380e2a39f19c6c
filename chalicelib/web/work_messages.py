"""Messages on the work queue, in the shapes AWS sends them.

An S3 notification (possibly several records), S3's test event when the
notification is first configured, or one of our own messages (a run carrying on,
an erasure's second sweep).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from chalicelib.domain.imports import ObjectCreated
from chalicelib.domain.limits import TooDeepError, loads
from chalicelib.domain.queue_messages import CONTINUE_IMPORT, DATE_PASS, REEVALUATE, SWEEP_ERASED

if TYPE_CHECKING:
    from chalicelib.services.work import Work


class PoisonMessageError(ValueError):
    """A message no retry can fix: it is parked on the dead-letter queue with this reason."""


@dataclass(frozen=True)
class ContinueImport:
    import_id: str


@dataclass(frozen=True)
class Reevaluate:
    stamp: str
    start: dict[str, Any] | None


@dataclass(frozen=True)
class DatePassOn:
    day: date
    start: dict[str, Any] | None


@dataclass(frozen=True)
class SweepErased:
    contact_id: str


def parse_work_message(
    body: str,
) -> list[ObjectCreated] | ContinueImport | Reevaluate | DatePassOn | SweepErased:
    try:
        message: Any = loads(body, "The message")
    except TooDeepError as error:
        raise PoisonMessageError(str(error)) from None
    except ValueError as error:
        raise PoisonMessageError(f"The message is not JSON: {error}") from None
    if not isinstance(message, dict):
        raise PoisonMessageError("The message is not a JSON object.")
    if message.get("type") == SWEEP_ERASED and isinstance(message.get("contact_id"), str):
        return SweepErased(message["contact_id"])
    if message.get("type") == CONTINUE_IMPORT and isinstance(message.get("import_id"), str):
        return ContinueImport(message["import_id"])
    if message.get("type") == REEVALUATE and isinstance(message.get("stamp"), str):
        start = message.get("start")
        return Reevaluate(message["stamp"], start if isinstance(start, dict) else None)
    if message.get("type") == DATE_PASS and isinstance(message.get("start"), dict):
        try:
            return DatePassOn(date.fromisoformat(str(message.get("day"))), message["start"])
        except ValueError:
            raise PoisonMessageError(f"The date pass names no day: {message.get('day')!r}") from None
    if message.get("Event") == "s3:TestEvent":
        return []
    records = message.get("Records")
    if not isinstance(records, list):
        raise PoisonMessageError("The message is neither an S3 notification nor a continuation.")
    created = []
    for record in records:
        try:
            if not str(record["eventName"]).startswith("ObjectCreated:"):
                continue
            obj = record["s3"]["object"]
            created.append(
                ObjectCreated(
                    key=unquote_plus(obj["key"]),
                    etag=str(obj.get("eTag", "")),
                    size=int(obj.get("size", 0)),
                    # The sequencer tells two uploads of identical bytes apart; emulators
                    # that omit it still stamp each event with its own time.
                    sequencer=str(obj.get("sequencer") or record.get("eventTime", "")),
                )
            )
        except (KeyError, TypeError, ValueError) as error:
            raise PoisonMessageError(f"The S3 record lacks {error}.") from None
    return created


def dispatch(body: str, work: Work, remaining_ms: Callable[[], int]) -> None:
    """One message off the work queue, handed to the use case it names."""
    message = parse_work_message(body)
    if isinstance(message, Reevaluate):
        work.reevaluate(message.stamp, message.start, remaining_ms)
    elif isinstance(message, DatePassOn):
        work.date_pass(message.day, message.start, remaining_ms)
    elif isinstance(message, ContinueImport):
        work.continue_import(message.import_id, remaining_ms)
    elif isinstance(message, SweepErased):
        work.sweep_erased(message.contact_id)
    else:
        work.files_created(message, remaining_ms)
