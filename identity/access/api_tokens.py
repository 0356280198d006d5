"""Tokens for the agency's own back-office systems: created once, stored hashed."""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from identity.access.bearer_secrets import BearerSecrets
from identity.audit import chain
from identity.models import ApiToken

ROLES = ("backoffice", "metrics")  # metrics: may only read GET /metrics
PREFIX = "hwb_"
TOKENS = BearerSecrets(PREFIX, ApiToken, ApiToken.token_hash)


@dataclass(frozen=True)
class NewToken:
    """A stored token and its secret, which is shown once."""

    record: ApiToken
    token: str


def create(session: Session, role: str, actor: str) -> NewToken:
    """Create a token for a role, in the caller's transaction, audited."""
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; choose from: {', '.join(ROLES)}.")
    token = TOKENS.mint()
    record = ApiToken(role=role, token_hash=token.digest, prefix=token.shown, active=True)
    session.add(record)
    session.flush()
    chain.record(session, actor, "token.create", f"token:{record.id}", {"role": role})
    return NewToken(record, token.secret)


def authenticate(session: Session, token: str | None, role: str) -> ApiToken | None:
    """Return the active token record for this secret and role, or None."""
    record = TOKENS.find(session, token)
    return record if record is not None and record.active and record.role == role else None
