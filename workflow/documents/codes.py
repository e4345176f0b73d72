"""Verification codes: printed on every issued document, typed by hand on `/verify`.

A code is 80 random bits (`secrets`) in Crockford's base32, the digits and the letters without
I, L, O and U, in four groups of four: `7KQ2-M0XC-9TFA-3HRB`. A typed code is read the way that
alphabet is meant to be read: upper or lower case, spaces, dashes and dots do not matter, the
letter O is the digit 0 and the letters I and L are the digit 1.

Codes issued before were RFC 4648 base32 (A-Z and 2-7): they may hold I, L, O and U and never
0, 1, 8 or 9, and they stay valid as printed. Every document is found by the key of its code
(`key_of`, the column `issued_document.code_key`), the same reading applied to the stored code
and to the typed one: a new code is its own key, and an old code typed exactly or with 0 for O
and 1 for I or L reaches the same key. Two old codes that differed only by an I against an L
would share a key; the key is unique, so the register would refuse the second (with 80 random
bits that never happens). U is kept as typed: it is in old codes, never in new ones, so a code
with a U and an 8 or a 9 is none of either.
"""

from __future__ import annotations

import enum
import re
import secrets
import unicodedata
from dataclasses import dataclass

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O, U
LENGTH = 16  # 16 × 5 = 80 bits
GROUP = 4
# What the keys of the old codes are made of: A-Z and 2-7, with O read as 0 and I, L as 1.
OLD_KEY_ALPHABET = frozenset("ABCDEFGHJKMNPQRSTUVWXYZ01234567")
# Spaces (any), dashes (also the typographic ones a copied PDF may give) and dots.
SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212.\u00b7\u2022]+")
READ_AS = str.maketrans("OIL", "011")


class Problem(enum.Enum):
    """Why typed text cannot be a code (and so is not looked up)."""

    BLANK = "blank"
    CHARACTERS = "characters"  # holds characters that are in no code
    LETTER_U = "letter_u"  # a U with an 8 or a 9: U is in no new code, 8 and 9 in no old one
    LENGTH = "length"


@dataclass(frozen=True)
class Reading:
    """Typed text read as a code: its key when it is well formed, else why not."""

    key: str | None
    problem: Problem | None = None
    length: int = 0  # letters and digits typed, separators left out
    strange: str = ""  # characters that are in no code, each once, as typed


def new_code() -> str:
    """A new verification code: 16 characters of Crockford's base32, grouped by four."""
    return _grouped("".join(secrets.choice(ALPHABET) for _ in range(LENGTH)))


def _grouped(raw: str) -> str:
    return "-".join(raw[i:i + GROUP] for i in range(0, len(raw), GROUP))


def _letters(text: str) -> str:
    """The text's characters as a code reads them: upper case, no separators, O as 0, I/L as 1."""
    plain = unicodedata.normalize("NFKC", text or "").upper()
    return SEPARATORS.sub("", plain).translate(READ_AS)


def key_of(code: str) -> str:
    """The key a stored code is found by (the same reading as `read`, without its checks)."""
    return _grouped(_letters(code))


def read(text: str | None) -> Reading:
    """Read a typed code: its key, or why it cannot be a code (blank, stray characters, a U
    among the digits of a new code, or not 16 letters and digits)."""
    letters = _letters(text or "")
    if not letters:
        return Reading(None, Problem.BLANK)
    strange = "".join(dict.fromkeys(c for c in letters if c not in ALPHABET and c != "U"))
    if strange:
        return Reading(None, Problem.CHARACTERS, len(letters), strange)
    if len(letters) != LENGTH:
        return Reading(None, Problem.LENGTH, len(letters))
    if not (set(letters) <= set(ALPHABET) or set(letters) <= OLD_KEY_ALPHABET):
        return Reading(None, Problem.LETTER_U, len(letters))
    return Reading(_grouped(letters), length=len(letters))
