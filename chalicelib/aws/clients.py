"""boto3 clients, built once per process on first use (cold starts stay lean).

Locally and on AWS alike the endpoint comes from the environment
(AWS_ENDPOINT_URL), so the same code talks to moto or to AWS.
"""

from __future__ import annotations

import random
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=5, read_timeout=60)
# For calls that must not be repeated blindly (SES's SendRawEmail has no idempotency key): botocore
# resends a request whose answer timed out, which can mail a person twice.  The caller retries
# what is known not to have gone (throttling) itself.
_ONE_ATTEMPT = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30)


CONFLICT_ATTEMPTS = 6


@cache
def client(service: str, one_attempt: bool = False) -> Any:
    config = _ONE_ATTEMPT if one_attempt else _CONFIG
    made = boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]
    if service == "dynamodb" and not one_attempt:
        made.meta.events.register("needs-retry.dynamodb", _retry_transaction_conflicts)
    return made


def _retry_transaction_conflicts(response: Any = None, attempts: int = 1, **_: Any) -> float | None:
    """How long to wait before sending again a write DynamoDB refused because a transaction held
    the item (an import's conditional writes hold a contact for milliseconds): botocore's own
    retries leave TransactionConflictException to the caller, and an unsubscribe must not fail
    for it.  None: not this error, or tried enough (then the caller gets it)."""
    if response is None or attempts >= CONFLICT_ATTEMPTS:
        return None
    code = ((response[1] or {}).get("Error") or {}).get("Code", "")
    if code != "TransactionConflictException":
        return None
    return float(random.uniform(0.5, 1.0) * min(0.025 * 2**attempts, 0.4))
