"""Is a hit from a person?  Bots and link scanners must never move a score.

The user-agent fragments live in bots.txt beside this module (data, not
code).  Besides the list: HEAD requests, empty user agents, and impossible
speed -- more hits from one visitor in a second than a person makes.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

MAX_HUMAN_HITS_PER_SECOND = 5


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    text = resources.files("chalicelib.domain").joinpath("bots.txt").read_text(encoding="utf-8")
    fragments = [
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    return re.compile("|".join(re.escape(f) for f in fragments))


@lru_cache(maxsize=4096)
def _agent_reason(user_agent: str) -> str | None:
    """User agents repeat across hits, so each is judged once per container."""
    if not user_agent.strip():
        return "no_user_agent"
    match = _pattern().search(user_agent.lower())
    return f"user_agent:{match.group(0)}" if match else None


def bot_reason(user_agent: str, method: str = "GET", hits_this_second: int = 1) -> str | None:
    """None for a person; otherwise a short reason stored with the hit."""
    if method.upper() == "HEAD":
        return "head_request"
    reason = _agent_reason(user_agent)
    if reason:
        return reason
    if hits_this_second > MAX_HUMAN_HITS_PER_SECOND:
        return "impossible_speed"
    return None
