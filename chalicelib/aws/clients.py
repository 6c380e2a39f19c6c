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


@cache
def client(service: str) -> Any:
    return boto3.session.Session().client(service, config=_CONFIG)  # type: ignore[call-overload]
