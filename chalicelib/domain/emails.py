"""Email identity: one contact per normalised address.

email-validator is the authority on syntax (no DNS lookups).  It costs ~40 µs a
call, most of it on the domain (IDNA), so the common shape -- an ASCII dot-atom
local part -- is checked here with a regex and the domain verdict is cached.
A property test holds the fast path to the validator's answers.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")
_MAX_LOCAL = 64
_MAX_ADDRESS = 254


class InvalidEmailError(ValueError):
    """The address cannot be anyone's; `reason` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@lru_cache(maxsize=8192)
def _checked_domain(domain: str) -> str | InvalidEmailError:
    try:
        return validate_email("x@" + domain, check_deliverability=False).domain
    except EmailNotValidError as error:
        return InvalidEmailError(str(error))


def _slow_path(address: str) -> str:
    try:
        result = validate_email(address, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidEmailError(str(error)) from None
    return result.normalized


def normalize_email(raw: str) -> str:
    """The identity key: NFC, trimmed, lower-cased; raises InvalidEmailError."""
    address = raw.strip()
    if not address:
        raise InvalidEmailError("The email address is empty.")
    local, at, domain = address.rpartition("@")
    # Most local parts are letters and digits alone, a dot-atom by sight: the regex is for the rest.
    if at and len(local) <= _MAX_LOCAL and ((local.isascii() and local.isalnum()) or _DOT_ATOM.match(local)):
        checked = _checked_domain(domain)
        if isinstance(checked, InvalidEmailError):
            raise checked
        normalized = f"{local}@{checked}"
        if len(normalized) > _MAX_ADDRESS:
            normalized = _slow_path(address)
    else:
        normalized = _slow_path(address)
    if normalized.isascii():
        return normalized.lower()
    return unicodedata.normalize("NFC", normalized).lower()


def email_hash(normalized_email: str) -> str:
    """What a suppression entry keeps instead of the address itself."""
    return hashlib.sha256(normalized_email.encode("utf-8")).hexdigest()
