"""The admin bearer token, the signing keys and the LINE channel live in Secrets Manager (declared
by the stack)."""

from __future__ import annotations

from typing import Any

from chalicelib import clock

_TTL_SECONDS = 300


class SecretValue:
    """Fetched on first use and re-read every few minutes, so a rotation takes hold."""

    def __init__(self, secrets: Any, secret_id: str) -> None:
        self._secrets = secrets
        self._id = secret_id
        self._value = ""
        self._fetched = 0.0

    def get(self) -> str:
        if not self._value or clock.stopwatch() - self._fetched > _TTL_SECONDS:
            self._value = self._secrets.get_secret_value(SecretId=self._id)["SecretString"]
            self._fetched = clock.stopwatch()
        return self._value

    def field(self, name: str) -> str:
        """One text of a secret holding a JSON object (the LINE channel's token and secret); ""
        when it is missing or the secret is not JSON -- no one acts on an empty credential."""
        import json

        try:
            found = json.loads(self.get() or "{}")
        except ValueError:
            return ""
        text = found.get(name) if isinstance(found, dict) else None
        return text if isinstance(text, str) else ""
