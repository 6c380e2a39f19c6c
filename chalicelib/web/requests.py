"""Request plumbing for app.py: JSON bodies, the admin check, paging parameters,
and use-case errors turned into HTTP answers.  Light on purpose: the beacon path loads it."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from chalice.app import (
    BadRequestError,
    CaseInsensitiveMapping,
    ForbiddenError,
    NotFoundError,
    Request,
    TooManyRequestsError,
)
from chalice.app import ConflictError as ChaliceConflictError

from chalicelib import clock
from chalicelib.domain import errors, limits


def json_object(request: Request | None, limit_kib: int = limits.SITE_BODY_KIB) -> dict[str, Any]:
    raw = (request.raw_body if request else b"") or b""
    if len(raw) > limit_kib * 1024:
        raise BadRequestError(f"The body is larger than {limit_kib} KiB.")
    try:
        body = limits.loads(raw)
    except limits.TooDeepError as error:
        raise BadRequestError(f"{error}.") from None
    except ValueError:
        raise BadRequestError("The body must be JSON.") from None
    if not isinstance(body, dict):
        raise BadRequestError("The body must be a JSON object.")
    if b"\\u" in raw and not _all_text(body):
        raise BadRequestError(
            "The body holds half a surrogate pair (such as \\ud800), which is no character."
        )
    return body


def form_fields(raw: bytes | str | None, limit_kib: int, most_fields: int) -> dict[str, list[str]]:
    """An HTML form's urlencoded post: each name with its values, blank ones kept.  A body that is
    too large, not UTF-8 (%-escapes included) or has too many fields is a 400 that says which."""
    from urllib.parse import parse_qs

    body = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw or b""
    if len(body) > limit_kib * 1024:
        raise BadRequestError(f"The form is larger than {limit_kib} KiB.")
    try:
        return parse_qs(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=most_fields, errors="strict"
        )
    except UnicodeDecodeError:
        raise BadRequestError("The form's body is not UTF-8.") from None
    except ValueError:
        raise BadRequestError(f"The form has more than {most_fields} fields.") from None


def _all_text(body: dict[str, Any]) -> bool:
    """No string in it holds a lone surrogate: JSON's \\u escapes can write one, and UTF-8 (so
    DynamoDB, SES and every page) cannot hold it."""
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def require_admin(request: Request | None) -> None:
    """The admin bearer token, or a console session of the admin role (console_access.py)."""
    from chalicelib.web.console_access import require_console

    require_console(request, "admin")


def params(request: Request | None) -> Mapping[str, str]:
    return (request.query_params if request else None) or {}


def page_limit(request: Request | None, default: str = "50") -> int:
    limit = params(request).get("limit", default)
    from chalicelib.domain.values import plain_digits  # off the beacon's path, which loads this module

    if not plain_digits(limit):
        raise BadRequestError(f"limit must be a whole number, not '{limit}'.")
    return int(limit)


def answer(call: Callable[..., Any], *args: Any) -> Any:
    """Run a use case; its 'not found', 'bad input' and 'conflict' errors become 404, 400 and 409,
    and a passing fault it retried in vain (the store kept throttling) a 429 asking to wait."""
    from chalicelib.domain.tokens import InvalidTokenError

    try:
        return call(*args)
    except InvalidTokenError as error:
        raise ForbiddenError(str(error)) from None
    except errors.NotFoundError as error:
        raise NotFoundError(str(error)) from None
    except errors.BadInputError as error:
        raise BadRequestError(str(error)) from None
    except errors.ConflictError as error:  # lost a race it retried: the caller may send it again
        raise ChaliceConflictError(str(error)) from None
    except errors.TransientError as error:
        raise TooManyRequestsError(f"Busy for a moment ({error}); send it again shortly.") from None


def cors(origin: str | None) -> dict[str, str]:
    """The answer's CORS headers for a site's page (its origin checked by the caller)."""
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if origin else {}


def within_the_request(seconds: float = 25) -> Callable[[], int]:
    """A job's clock for an API call: the milliseconds left before `seconds` from now, within
    API Gateway's 29 s; a scheduled run goes on from where the job stopped."""
    deadline = clock.stopwatch() + seconds

    def remaining_ms() -> int:
        return int((deadline - clock.stopwatch()) * 1000)

    return remaining_ms


def json_bytes(body: Any) -> bytes:
    """An answer's JSON in UTF-8, Japanese unescaped (money as numbers, as Chalice writes it)."""
    from chalice.app import handle_extra_types

    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=handle_extra_types).encode()


def decode_path(request: Any) -> None:
    """Path parameters as they were meant ('新規客', not '%E6%96%B0%E8%A6%8F%E5%AE%A2'): API
    Gateway's REST API and Chalice's local server both hand them over percent-encoded, as the
    browser sent them.  Done in place: the view's arguments are read from this same mapping."""
    from urllib.parse import unquote

    params: dict[str, str] = (request.uri_params if request is not None else None) or {}
    for name, value in params.items():
        if "%" in value:
            params[name] = unquote(value)


def accept_anything(request: Any) -> None:
    """A request without an Accept header accepts anything (RFC 9110 12.5.1). Chalice would
    refuse to answer it with an image -- the pixel of a mail client that sends none."""
    if "accept" not in request.headers:
        request.headers = CaseInsensitiveMapping({**request.headers, "accept": "*/*"})


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # An answer that is not a page of ours runs nothing; the pages say what they need themselves.
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
}
PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")
_BEACON_STATUS = {
    "": 204,
    "too_large": 413,
    "unknown_site": 404,
    "foreign_origin": 403,
    "foreign_url": 403,
    "rate_limited": 429,
}


def beacon_status(refused: str) -> int:
    """The HTTP answer to a beacon: 204 when stored, else why not (any other reason is a 400)."""
    return _BEACON_STATUS.get(refused, 400)
