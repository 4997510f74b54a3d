"""Secrets shown once and stored hashed: API tokens and webhook URLs.

A secret is `<kind>_<prefix>_<random>`: the prefix (8 hex, stored in clear, unique) finds the row with
one index lookup, and the whole secret's SHA-256 is compared in constant time. The random part is
256 bits from `secrets`, so a fast hash is enough: a slow password hash (PBKDF2, Argon2) protects
guessable secrets and would cost ~50-300 ms of CPU on every request here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

_SHAPE = re.compile(r"^(ck|wh)_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True, slots=True)
class NewSecret:
    text: str  # shown once, never stored
    prefix: str
    digest: str


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_secret(kind: str) -> NewSecret:
    """A fresh secret of `kind` (ck: API token, wh: webhook)."""
    prefix = secrets.token_hex(4)
    text = f"{kind}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewSecret(text, prefix, digest(text))


def split(text: str, kind: str) -> str | None:
    """The prefix of a well-formed secret of `kind`, or None."""
    match = _SHAPE.fullmatch(text)
    if match is None or match.group(1) != kind:
        return None
    return match.group(2)


def matches(text: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(text), stored_digest)
