"""On the local stack: a form sent -> its confirmation mail accepted by SES (the emulator)."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


def _call(env: dict[str, str], method: str, path: str, body: Any = None) -> Any:
    headers = {"User-Agent": CHROME, "Origin": "http://localhost"}
    if body is not None:
        headers["Content-Type"] = "text/plain"  # what the tag posts: a simple request, no preflight
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(env["SODATE_API"] + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def confirmation_latency(env: dict[str, str], ses: Any, people: int = 10) -> list[float]:
    """Seconds from sending the example newsletter form to SES holding its confirmation mail,
    for `people` sign-ups one after another (each page served a few seconds before, as a person
    takes to fill it in)."""
    site = env["SODATE_SITE_ID"]
    starts = [_call(env, "GET", f"/forms/{site}/newsletter/spec")["ft"] for _ in range(people)]
    time.sleep(2.2)  # the minimum fill time: what a robot's instant post is refused for
    times = []
    for i, ft in enumerate(starts):
        before = ses.get_send_quota()["SentLast24Hours"]
        body = {"site": site, "form": "newsletter", "ft": ft, "email": f"bench-signup-{i}@example.com"}
        body |= {"topics": ["newsletter"], "page": "http://localhost/newsletter"}
        started = time.perf_counter()
        _call(env, "POST", "/f", body)
        while ses.get_send_quota()["SentLast24Hours"] <= before:
            if time.perf_counter() - started > 60:
                raise TimeoutError("no confirmation mail within a minute")
            time.sleep(0.01)
        times.append(time.perf_counter() - started)
    return times
