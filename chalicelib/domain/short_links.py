"""Short codes for the tracked links of a text (pure): `<base>/s/<code>` instead of `<api>/c/<token>`.

A signed click token is about 250 characters -- three or four more UCS-2 parts in a Japanese
text.  A code is 10 base62 characters (62^10, about 8 * 10^17) that stands for the token, kept
until the token expires.

The code is an HMAC of the send's ledger key and the destination under the link-signing key: no
one without the key can guess a code (nor a valid one among the many), and a retried send -- a
throttled text, the next tick -- makes the very same code for the same link, so a retry never
leaves orphans behind.  Two different links landing on one code (about one chance in 10^4 after
10^7 codes) are told apart by the link's `source` kept with the code: the later one takes the
next code of its own sequence (`attempt` 1, 2, ...), the same sequence on every retry.
"""

from __future__ import annotations

import hashlib
import hmac
import string
from collections.abc import Callable

ALPHABET = string.digits + string.ascii_letters
CODE_CHARS = 10
ATTEMPTS = 4  # codes of a link's sequence tried before giving up (a collision is already rare)


def short_link_like(base: str) -> Callable[[str], str]:
    """A link as a text's short link under `base` will be as long: for measuring a text."""
    return lambda url: f"{base.rstrip('/')}/s/{'0' * CODE_CHARS}"


def code_for(key: str, ledger_key: str, url: str, attempt: int = 0) -> str:
    digest = hmac.digest(key.encode(), f"short-link\n{attempt}\n{ledger_key}\n{url}".encode(), "sha256")
    number, chars = int.from_bytes(digest[:16], "big"), []
    for _ in range(CODE_CHARS):
        number, digit = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[digit])
    return "".join(chars)


def source_of(ledger_key: str, url: str) -> str:
    """What a code stands for, as kept beside it (a digest: the token says it in full)."""
    return hashlib.sha256(f"{ledger_key}\n{url}".encode()).hexdigest()[:32]


def is_code(text: object) -> bool:
    return isinstance(text, str) and len(text) == CODE_CHARS and all(c in ALPHABET for c in text)
