"""One structured logger: a JSON line per event (Powertools), with its fields as keys.

The services that log import it; the beacon path never does (Powertools stays off its cold
start).  `SODATE_LOG_LEVEL` sets the level (INFO by default); Chalice's own plain-text handler
is off (app.py), so nothing prints twice.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger

logger = Logger(service="sodate", level=os.environ.get("SODATE_LOG_LEVEL", "INFO"))
