"""Bearer secrets (agency keys `hwy_…`, back-office tokens `hwb_…`): shown once, kept hashed.

A secret is its kind's prefix and 256 random bits; the register keeps only its SHA-256 and its
first characters (to tell secrets apart in listings). One rule makes, stores and checks them all.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import InstrumentedAttribute, Session

MAX_LENGTH = 100  # a longer bearer is no secret of ours: refused before it is hashed
SHOWN_LENGTH = 10  # the characters kept in clear (the prefix and a few random ones)

Row = TypeVar("Row")


def digest(secret: str) -> str:
    """Return the stored form of a secret (256 random bits: a plain hash suffices)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Minted:
    """A new secret (shown once, never stored), its stored hash and its first characters."""

    secret: str
    digest: str
    shown: str


class BearerSecrets(Generic[Row]):
    """One kind of secret: its prefix, and the table and column that keep its hash."""

    def __init__(self, prefix: str, model: type[Row], hashed: InstrumentedAttribute[str]) -> None:
        self.prefix = prefix
        self._column = hashed.key
        # Built once: this lookup runs on every request that carries a bearer.
        self._by_digest = select(model).where(hashed == bindparam("digest"))

    def mint(self) -> Minted:
        """Make a new secret of this kind."""
        secret = self.prefix + secrets.token_urlsafe(32)
        return Minted(secret, digest(secret), secret[:SHOWN_LENGTH])

    def digest_of(self, secret: str | None) -> str | None:
        """Return the stored form of a secret of this kind, or None when it cannot be one."""
        if not secret or not secret.startswith(self.prefix) or len(secret) > MAX_LENGTH:
            return None
        return digest(secret)

    def find(self, session: Session, secret: str | None) -> Row | None:
        """Return the row that keeps this secret's hash, or None (missing, malformed, unknown)."""
        wanted = self.digest_of(secret)
        if wanted is None:
            return None
        row: Row | None = session.scalar(self._by_digest, {"digest": wanted})
        if row is None or not hmac.compare_digest(getattr(row, self._column), wanted):
            return None
        return row
