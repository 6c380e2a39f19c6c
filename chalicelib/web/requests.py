"""Request plumbing for app.py: JSON bodies, the admin bearer check, paging parameters,
and use-case errors turned into HTTP answers.  Light on purpose: the beacon path loads it."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from chalice.app import BadRequestError, ForbiddenError, NotFoundError, Request, UnauthorizedError

from chalicelib.domain import errors


def json_object(request: Request | None, limit_kib: int = 4) -> dict[str, Any]:
    raw = (request.raw_body if request else b"") or b""
    if len(raw) > limit_kib * 1024:
        raise BadRequestError(f"The body is larger than {limit_kib} KiB.")
    try:
        body = json.loads(raw)
    except ValueError:
        raise BadRequestError("The body must be JSON.") from None
    if not isinstance(body, dict):
        raise BadRequestError("The body must be a JSON object.")
    return body


def require_admin(request: Request | None) -> None:
    from chalicelib.services import wiring

    if not wiring.admin_allowed(request.headers.get("authorization") if request else None):
        raise UnauthorizedError("A valid 'Authorization: Bearer <admin token>' header is required.")
    wiring.tables_ready()


def params(request: Request | None) -> Mapping[str, str]:
    return (request.query_params if request else None) or {}


def page_limit(request: Request | None, default: str = "50") -> int:
    limit = params(request).get("limit", default)
    if not limit.isdigit():
        raise BadRequestError(f"limit must be a whole number, not '{limit}'.")
    return int(limit)


def answer(call: Callable[..., Any], *args: Any) -> Any:
    """Run a use case; its 'not found' and 'bad input' errors become 404 and 400."""
    from chalicelib.domain.tokens import InvalidTokenError

    try:
        return call(*args)
    except InvalidTokenError as error:
        raise ForbiddenError(str(error)) from None
    except errors.NotFoundError as error:
        raise NotFoundError(str(error)) from None
    except errors.BadInputError as error:
        raise BadRequestError(str(error)) from None
