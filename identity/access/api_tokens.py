"""Tokens for the agency's own back-office systems: created once, stored hashed."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from identity.audit import chain
from identity.models import ApiToken

ROLES = ("backoffice", "metrics")  # metrics: may only read GET /metrics
PREFIX = "hwb_"


@dataclass(frozen=True)
class NewToken:
    """A stored token and its secret, which is shown once."""

    record: ApiToken
    token: str


def hash_token(token: str) -> str:
    """Return the stored form of a token (256 random bits: a plain hash suffices)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(session: Session, role: str, actor: str) -> NewToken:
    """Create a token for a role, in the caller's transaction, audited."""
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; choose from: {', '.join(ROLES)}.")
    token = PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(role=role, token_hash=hash_token(token), prefix=token[:10], active=True)
    session.add(record)
    session.flush()
    chain.record(session, actor, "token.create", f"token:{record.id}", {"role": role})
    return NewToken(record, token)


def authenticate(session: Session, token: str | None, role: str) -> ApiToken | None:
    """Return the active token record for this secret and role, or None."""
    if not token or not token.startswith(PREFIX) or len(token) > 100:
        return None
    wanted = hash_token(token)
    record = session.scalar(select(ApiToken).where(ApiToken.token_hash == wanted))
    if record is None or not record.active or record.role != role:
        return None
    return record if hmac.compare_digest(record.token_hash, wanted) else None
