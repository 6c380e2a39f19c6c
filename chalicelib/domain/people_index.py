"""Who is where, for the console's lists: the people in a cell of the overview's grade and RFM
grids, and the people whose name starts with what was typed.

Each entry is one small item of the people index table, kept by the contacts stream beside the
gauges (the same images, so a cell's list holds exactly whom its gauge counts).  An entry's
partition is its cell, or a name's first letter, split in SHARDS by the address, so an import
that puts 10,000 people a second in grade D4 writes some 250 a second to each of SHARDS keys
(DynamoDB's limit: 1,000 a key; bench/partitions.py); a read asks each shard and merges.
Entries are puts and deletes: a stream batch handed over again writes the same items again and
changes nothing.

A person who may be texted also has an entry under their number (its hash: the number is not a
key), so a STOP replied from a number finds whom it speaks for; only those people, since nobody
else is texted, and an import of people without SMS permission writes no more entries.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.domain.channels import sms_number
from chalicelib.domain.errors import BadInputError
from chalicelib.domain.figures import GRADES, gauges_of

SHARDS = 32
LEGACY_SHARDS = 8  # before: an entry of shard n was in n % 8 (store/people_index.py)
PREFIX = "x#"
NAMES = f"{PREFIX}name:"  # the start of a name entry's partition
PHONES = f"{PREFIX}phone:"  # and of a textable number's (then the SHA-256 of its E.164 form)
NAME_LONGEST = 64  # characters of a name kept in its entry (search goes no further)
_KATAKANA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}  # ァ..ヶ -> ぁ..ゖ
_DROPPED = {ord(c): None for c in " \t\u3000・･.-_'’"}

Entry = tuple[str, str]  # (pk, sk) of one item


class BadCellError(BadInputError):
    """A cell that is not one of the grids'."""


def shard(email: str) -> int:
    return int.from_bytes(hashlib.blake2b(email.encode(), digest_size=2).digest(), "big") % SHARDS


def name_key(text: str) -> str:
    """A name as it is searched: NFKC, case folded, katakana as hiragana, without spaces and
    dots (so 'ヤマダ　タロウ', 'やまだたろう' and 'ﾔﾏﾀﾞ' all start alike)."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_DROPPED)
    return folded.translate(_KATAKANA)[:NAME_LONGEST]


def names_of(contact: Mapping[str, Any], every: bool = False) -> set[str]:
    """The keys a person is found under: their name as given, family + given name, and each
    word alone (so 'Suzuki' finds 'Taro Suzuki', and a given name its person).

    A key that begins another of the person's keys is dropped (unless `every`): whatever finds
    it finds the longer one too, so '伊藤 一郎' is two entries ('伊藤一郎', '一郎'), not three, and
    an import writes a third fewer entries.  `every` gives them all, as entries were written
    before, so a renamed person's older entries can be deleted."""
    last, first = str(contact.get("last_name") or ""), str(contact.get("first_name") or "")
    name = str(contact.get("name") or "")
    words = unicodedata.normalize("NFKC", name).split()[:4]
    written = (name, last + first, first + last, last, first, *(words if len(words) > 1 else ()))
    keys = {key for key in map(name_key, written) if key}
    if every:
        return keys
    return {key for key in keys if not any(other != key and other.startswith(key) for other in keys)}


def cell_key(gauge: str) -> str:
    """'grade:A1' or 'rfm:54' (a gauge of domain/figures.py), checked; BadCellError otherwise."""
    kind, _, cell = gauge.partition(":")
    if kind == "grade" and cell in GRADES:
        return gauge
    if kind == "rfm" and len(cell) == 2 and all(c in "12345" for c in cell):
        return gauge
    raise BadCellError(
        f"No such cell {gauge[:40]!r}: a grade (grade:A1 .. grade:D4) or an RFM cell (rfm:11 .. rfm:55)."
    )


def phone_partition(number: str) -> str:
    """The partition of the people an E.164 number may text."""
    return PHONES + hashlib.sha256(number.encode()).hexdigest()


def entries(contact: Mapping[str, Any] | None, every: bool = False, country: str = "JP") -> frozenset[Entry]:
    """A person's entries: their grid cells, their names (`every`: see names_of) and the number
    they may be texted at (a number written without its country code is `country`'s)."""
    if not contact or not contact.get("email"):
        return frozenset()
    email = str(contact["email"])
    part = shard(email)
    found = {
        (f"{PREFIX}{gauge}#{part}", email)
        for gauge in gauges_of(contact)
        if gauge.startswith(("grade:", "rfm:"))
    }
    found |= {(f"{NAMES}{key[0]}#{part}", f"{key} {email}") for key in names_of(contact, every)}
    number = sms_number(contact, country)
    if number is not None:
        found.add((phone_partition(number), email))
    return frozenset(found)


def index_moves(
    changes: Iterable[tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]], country: str = "JP"
) -> tuple[set[Entry], set[Entry]]:
    """What a batch of (before, after) images puts and deletes.  One person changed twice in a
    batch counts from their first image to their last."""
    first: dict[str, Mapping[str, Any] | None] = {}
    last: dict[str, Mapping[str, Any] | None] = {}
    for before, after in changes:
        email = str((after or before or {}).get("email") or "")
        if email:
            first.setdefault(email, before)
            last[email] = after
    puts: set[Entry] = set()
    deletes: set[Entry] = set()
    for email, before in first.items():
        after = last[email]
        was, now = entries(before, country=country), entries(after, country=country)
        puts |= now - was
        deletes |= was - now
        if before and any(pk.startswith(NAMES) for pk, _ in was ^ now):
            deletes |= entries(before, True, country) - now  # renamed or gone: any entry of before too
    return puts, deletes


def cell_partitions(gauge: str) -> list[str]:
    key = cell_key(gauge)
    return [f"{PREFIX}{key}#{part}" for part in range(SHARDS)]


def name_partitions(typed: str) -> tuple[list[str], str]:
    """The partitions to ask and the prefix their entries start with, for what was typed
    ('' prefix: nothing to search for)."""
    key = name_key(typed)
    if not key:
        return [], ""
    return [f"{NAMES}{key[0]}#{part}" for part in range(SHARDS)], key


def email_of(sk: str) -> str:
    """The address an entry's sort key ends with."""
    return sk.rpartition(" ")[2]
