"""Bearer tokens, compared in constant time."""

from __future__ import annotations

import hmac


def bearer_matches(authorization: str | None, expected: str) -> bool:
    if not authorization or not expected:
        return False
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode("utf-8"), expected.encode("utf-8"))
