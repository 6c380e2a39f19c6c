"""Which failures are worth trying again as they are: what AWS calls throttling or a hiccup,
the network, and a lost race for a record (read it again and the retry succeeds)."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.errors import ConflictError, TransientError

_TRANSIENT = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
        "Throttling",
        "SlowDown",
        "RequestTimeout",
        "InternalError",
        "ServiceUnavailableException",
    }
)


def is_transient(error: BaseException) -> bool:
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code") in _TRANSIENT
    return isinstance(error, (BotoCoreError, ConflictError, TransientError))
