"""What End User Messaging SMS answers a request it will not take: the AWS JSON 1.0 protocol's
error bodies, and the checks of each request against the API's own definition.

The definition is the service model botocore ships for `pinpoint-sms-voice-v2` (API version
2022-03-31) -- the document the "AWS End User Messaging SMS and Voice, version 2 API Reference"
is generated from: each member's type, `required`, length (`min`/`max`), `pattern` and enum.
Those are checked here as the service checks them (botocore itself checks all but the patterns
before sending), and a failure is a `ValidationException` whose `Reason` is one the reference
lists (FIELD_VALIDATION_FAILED, MISSING_PARAMETER...) and whose `Fields` name each member.

Error responses (AWS JSON 1.0): HTTP 400 for the caller's errors, 500 for InternalServerException;
the body `{"__type": "<Code>", "Message": ..., <the exception's members>}` and the header
`x-amzn-ErrorType`.  botocore reads the code from `__type` and the members (Reason, ResourceType,
ResourceId, Fields) into the response.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

SERVICE = "pinpoint-sms-voice-v2"
TARGET_PREFIX = "PinpointSMSVoiceV2."


class ApiError(Exception):
    """An error answer: its code (the exception's name) and members."""

    def __init__(self, code: str, message: str, status: int = 400, **members: Any) -> None:
        super().__init__(message)
        self.code, self.status, self.members = code, status, members

    def body(self) -> dict[str, Any]:
        return {"__type": self.code, "Message": str(self), **self.members}


def validation(reason: str, message: str, fields: list[dict[str, str]] | None = None) -> ApiError:
    return ApiError("ValidationException", message, Reason=reason, Fields=fields or [])


def not_found(kind: str, resource_id: str) -> ApiError:
    return ApiError(
        "ResourceNotFoundException",
        f"No {kind} named {resource_id!r} in this account.",
        ResourceType=kind,
        ResourceId=resource_id,
    )


def conflict(reason: str, kind: str, resource_id: str, message: str) -> ApiError:
    return ApiError("ConflictException", message, Reason=reason, ResourceType=kind, ResourceId=resource_id)


@cache
def _model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(SERVICE)


def operations() -> frozenset[str]:
    return frozenset(_model().operation_names)


def check(operation: str, request: Any) -> dict[str, Any]:
    """The request, checked against the operation's input shape; ValidationException otherwise."""
    if not isinstance(request, dict):
        raise ApiError("SerializationException", "The request body is not a JSON object.")
    shape = _model().operation_model(operation).input_shape
    problems: list[dict[str, str]] = []
    _check_structure(shape, request, "", problems)
    if problems:
        missing = all(p["Message"] == "Member is required" for p in problems)
        reason = "MISSING_PARAMETER" if missing else "FIELD_VALIDATION_FAILED"
        said = "; ".join(f"{p['Name']}: {p['Message']}" for p in problems)
        raise validation(reason, f"{len(problems)} validation error(s) detected: {said}"[:1000], problems)
    return request


def _check_structure(shape: Any, value: Any, at: str, problems: list[dict[str, str]]) -> None:
    for name in shape.required_members:
        if name not in value:
            problems.append({"Name": f"{at}{name}", "Message": "Member is required"})
    for name, member in value.items():
        where = f"{at}{name}"
        if name not in shape.members:  # the definition says nothing of members it lacks: ignored
            continue
        _check(shape.members[name], member, where, problems)


def _check(shape: Any, value: Any, at: str, problems: list[dict[str, str]]) -> None:
    kind, meta = shape.type_name, shape.metadata
    expected: Any = {
        "string": str,
        "boolean": bool,
        "integer": int,
        "long": int,
        "timestamp": (int, float, str),
        "list": list,
        "map": dict,
        "structure": dict,
    }.get(kind, object)
    if not isinstance(value, expected) or (kind in ("integer", "long") and isinstance(value, bool)):
        problems.append({"Name": at, "Message": f"Member must be of type {kind}"})
        return
    size = len(value) if isinstance(value, str | list | dict) else None
    if size is not None and "min" in meta and size < meta["min"]:
        problems.append(
            {"Name": at, "Message": f"Member must have length greater than or equal to {meta['min']}"}
        )
    if size is not None and "max" in meta and size > meta["max"]:
        problems.append(
            {"Name": at, "Message": f"Member must have length less than or equal to {meta['max']}"}
        )
    number = isinstance(value, int) and not isinstance(value, bool)
    if number and (("min" in meta and value < meta["min"]) or ("max" in meta and value > meta["max"])):
        problems.append(
            {"Name": at, "Message": f"Member must be within {meta.get('min')}..{meta.get('max')}"}
        )
    if kind == "string" and "pattern" in meta and not re.fullmatch(meta["pattern"], value):
        problems.append(
            {"Name": at, "Message": f"Member must satisfy regular expression pattern: {meta['pattern']}"}
        )
    if kind == "string" and getattr(shape, "enum", None) and value not in shape.enum:
        problems.append({"Name": at, "Message": f"Member must satisfy enum value set: {list(shape.enum)}"})
    if kind == "structure":
        _check_structure(shape, value, f"{at}.", problems)
    elif kind == "list":
        for n, item in enumerate(value):
            _check(shape.member, item, f"{at}[{n}]", problems)
    elif kind == "map":
        for key, item in value.items():
            _check(shape.key, key, f"{at}.key", problems)
            _check(shape.value, item, f"{at}[{key}]", problems)
