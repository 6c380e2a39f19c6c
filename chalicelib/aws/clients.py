"""boto3 clients, built once per process on first use (cold starts stay lean).

Locally and on AWS alike the endpoint comes from the environment
(AWS_ENDPOINT_URL), so the same code talks to moto or to AWS.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=5, read_timeout=60)
# For calls that must not be repeated blindly (SES's SendRawEmail has no idempotency key): botocore
# resends a request whose answer timed out, which can mail a person twice.  The caller retries
# what is known not to have gone (throttling) itself.
_ONE_ATTEMPT = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30)


@cache
def client(service: str, one_attempt: bool = False) -> Any:
    config = _ONE_ATTEMPT if one_attempt else _CONFIG
    return boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]
