"""One LINE channel as the stand-in keeps it: its friends, the link tokens it issued, the retry
keys it accepted, what it delivered and the webhooks it sent -- all under one directory, so the
local stack finds them again after a restart (`.local/line/` there, a temporary one in tests).

`state.json` holds the friends and link tokens, `retry_keys.jsonl` the retry keys accepted (a line
each, appended: rewriting one file per push would make a push's cost grow with every push before
it, and the bench pushes 2,000 a second); `sent/N.json` is one accepted send
request (push or multicast) and to whom it was delivered; `webhooks/N.json` is one webhook event
and each time it was posted.  Link tokens are valid for 10 minutes and used once ("Issue link
token"); a retry key is remembered for 24 hours ("Retrying an API request").
"""

from __future__ import annotations

import json
import secrets
import string
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LINK_TOKEN_S = 10 * 60
RETRY_KEY_S = 24 * 60 * 60
PROFILE_FIELDS = ("displayName", "pictureUrl", "statusMessage", "language")


def new_user_id() -> str:
    return "U" + secrets.token_hex(16)


def _write(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1))
    tmp.replace(path)


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


class Numbered:
    """Records numbered in the order they came, one JSON file each."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._last = max(self._numbers(), default=0)

    def _numbers(self) -> list[int]:
        return [int(p.stem) for p in self.directory.glob("*.json") if p.stem.isdigit()]

    def add(self, record: dict[str, Any]) -> dict[str, Any]:
        self._last += 1
        record = {"number": self._last, **record}
        _write(self.directory / f"{self._last}.json", record)
        return record

    def put(self, record: dict[str, Any]) -> None:
        _write(self.directory / f"{record['number']}.json", record)

    def get(self, number: int) -> dict[str, Any] | None:
        found = _read(self.directory / f"{number}.json")
        return found if isinstance(found, dict) else None

    def newest(self, limit: int = 200) -> list[dict[str, Any]]:
        numbers = sorted(self._numbers(), reverse=True)[:limit]
        return [r for r in (self.get(n) for n in numbers) if r is not None]


class Channel:
    """The channel's state; callers hold `lock` around anything that must happen as one step."""

    def __init__(self, directory: Path, clock: Callable[[], float] = time.time) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._clock = clock
        self._path = directory / "state.json"
        loaded = _read(self._path)
        self._state: dict[str, Any] = loaded if isinstance(loaded, dict) else {}
        self._state.setdefault("bot_user_id", new_user_id())
        for part in ("users", "link_tokens"):
            self._state.setdefault(part, {})
        self._keys_path = directory / "retry_keys.jsonl"
        self._retry_keys = self._kept_keys(self._state.pop("retry_keys", {}))
        self.sent = Numbered(directory / "sent")
        self.webhooks = Numbered(directory / "webhooks")
        self._save()

    @property
    def bot_user_id(self) -> str:
        return str(self._state["bot_user_id"])

    def now(self) -> float:
        return self._clock()

    def _save(self) -> None:
        _write(self._path, self._state)

    # Friends: a user the channel knows is a friend or has blocked it (unfollowed).

    def follow(self, user_id: str, profile: dict[str, Any]) -> bool:
        """Make the user a friend; True when this unblocks the account (a former friend)."""
        with self.lock:
            known = self._state["users"].get(user_id)
            unblocked = known is not None and not known["friend"]
            user = dict(known or {"userId": user_id, "displayName": f"LINE user {user_id[1:7]}"})
            user.update({k: v for k, v in profile.items() if k in PROFILE_FIELDS and isinstance(v, str)})
            user.update(friend=True, since=self._clock())
            self._state["users"][user_id] = user
            self._save()
            return unblocked

    def unfollow(self, user_id: str) -> bool:
        """The user blocks the account; False when they were not a friend."""
        with self.lock:
            user = self._state["users"].get(user_id)
            if user is None or not user["friend"]:
                return False
            user.update(friend=False, since=self._clock())
            self._save()
            return True

    def user(self, user_id: str) -> dict[str, Any] | None:
        found = self._state["users"].get(user_id)
        return dict(found) if found is not None else None

    def users(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(u) for u in self._state["users"].values()]

    def profile(self, user_id: str) -> dict[str, Any] | None:
        """What "Get profile" answers: only for a friend (not a stranger, not one who blocked)."""
        user = self.user(user_id)
        if user is None or not user["friend"]:
            return None
        return {"userId": user_id, **{k: user[k] for k in PROFILE_FIELDS if user.get(k)}}

    # Link tokens.

    def issue_link_token(self, user_id: str) -> str:
        with self.lock:
            token = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
            now = self._clock()
            tokens = self._state["link_tokens"]
            for old in [t for t, v in tokens.items() if v["issued_at"] + LINK_TOKEN_S < now]:
                del tokens[old]
            tokens[token] = {"userId": user_id, "issued_at": now}
            self._save()
            return token

    def use_link_token(self, token: str) -> str | None:
        """The user id the token was issued for, once, within its 10 minutes."""
        with self.lock:
            found = self._state["link_tokens"].pop(token, None)
            self._save()
            if found is None or found["issued_at"] + LINK_TOKEN_S < self._clock():
                return None
            return str(found["userId"])

    # Retry keys.

    def _kept_keys(self, older: dict[str, Any]) -> dict[str, Any]:
        """The keys of the last 24 hours (a state.json of before kept them there), written back
        without the expired ones."""
        keys = dict(older)
        try:
            lines = self._keys_path.read_text().splitlines()
        except OSError:
            lines = []
        for line in lines:
            try:
                key, record = json.loads(line)
            except ValueError:
                continue  # a line cut short by a stop mid-write
            keys[key] = record
        now = self._clock()
        keys = {k: v for k, v in keys.items() if v["at"] + RETRY_KEY_S >= now}
        tmp = self._keys_path.with_name(self._keys_path.name + ".tmp")
        tmp.write_text("".join(json.dumps([k, v], ensure_ascii=False) + "\n" for k, v in keys.items()))
        tmp.replace(self._keys_path)
        return keys

    def accepted(self, key: str) -> dict[str, Any] | None:
        found = self._retry_keys.get(key.lower())
        if found is None or found["at"] + RETRY_KEY_S < self._clock():
            return None
        return dict(found)

    def accept(self, key: str, request_id: str, sent_messages: list[dict[str, str]] | None) -> None:
        with self.lock:
            record = {"requestId": request_id, "at": self._clock(), "sentMessages": sent_messages}
            self._retry_keys[key.lower()] = record
            with self._keys_path.open("a") as keys:
                keys.write(json.dumps([key.lower(), record], ensure_ascii=False) + "\n")

    def event_record(self, webhook_event_id: str) -> dict[str, Any] | None:
        for record in self.webhooks.newest(limit=100_000):
            if any(e.get("webhookEventId") == webhook_event_id for e in record["body"]["events"]):
                return record
        return None
