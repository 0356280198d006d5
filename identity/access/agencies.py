"""Agencies that verify through the API: their keys (stored hashed), scope and rate limit."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from identity.access.bearer_secrets import BearerSecrets
from identity.audit import chain
from identity.errors import Refused
from identity.models import SCOPE_ATTRIBUTES, Agency
from identity.register import fields

KEY_PREFIX = "hwy_"
DEFAULT_RATE_LIMIT = 600  # verifications per minute and key
KEYS = BearerSecrets(KEY_PREFIX, Agency, Agency.key_hash)


class InvalidAgency(Refused):
    """An agency definition that cannot be stored; the message says why."""

    code = "invalid-input"


@dataclass(frozen=True)
class NewKey:
    """An agency and its API key, which is shown once and never stored."""

    agency: Agency
    key: str


def parse_scope(text: str) -> tuple[str, ...]:
    """Return the attributes of a comma-separated scope, refusing unknown ones."""
    names = tuple(dict.fromkeys(p.strip().lower() for p in text.split(",") if p.strip()))
    unknown = [n for n in names if n not in SCOPE_ATTRIBUTES]
    if unknown:
        raise InvalidAgency(
            f"Unknown scope attribute(s): {', '.join(unknown)}. "
            f"Choose from: {', '.join(SCOPE_ATTRIBUTES)}."
        )
    return names


def create(
    session: Session,
    name: str,
    purpose: str,
    scope: str,
    actor: str,
    rate_limit: int = DEFAULT_RATE_LIMIT,
) -> NewKey:
    """Register an agency with a new API key, in the caller's transaction, audited."""
    try:
        name = fields.free_text("name", "the agency name", name, 2, 120)
        purpose = fields.free_text("purpose", "the purpose", purpose, 3, 200)
    except fields.InvalidField as invalid:
        raise InvalidAgency(fields.sentence(invalid)) from None
    if not 1 <= rate_limit <= 100_000:
        raise InvalidAgency("The rate limit must be 1 to 100000 verifications per minute.")
    scopes = parse_scope(scope)
    if session.scalar(select(Agency.id).where(Agency.name == name)) is not None:
        raise InvalidAgency(f"An agency named {name!r} exists already.")
    key = KEYS.mint()
    agency = Agency(
        name=name,
        purpose=purpose,
        scope=",".join(scopes),
        key_hash=key.digest,
        key_prefix=key.shown,
        active=True,
        rate_limit=rate_limit,
    )
    session.add(agency)
    session.flush()
    chain.record(session, actor, "agency.create", f"agency:{agency.id}", {"scope": agency.scope})
    return NewKey(agency, key.secret)


def rotate_key(session: Session, agency: Agency, actor: str) -> str:
    """Give an agency a new key; the old one stops working at once."""
    key = KEYS.mint()
    agency.key_hash, agency.key_prefix = key.digest, key.shown
    chain.record(session, actor, "agency.rotate_key", f"agency:{agency.id}")
    return key.secret


def set_active(session: Session, agency: Agency, active: bool, actor: str) -> None:
    """Enable or disable an agency; a disabled agency's key is refused on the next request."""
    agency.active = active
    action = "agency.enable" if active else "agency.disable"
    chain.record(session, actor, action, f"agency:{agency.id}")


def authenticate(session: Session, key: str | None) -> Agency | None:
    """Return the active agency holding this key, or None (a missing, wrong or revoked key)."""
    agency = KEYS.find(session, key)
    return agency if agency is not None and agency.active else None


def by_name(session: Session, name: str) -> Agency | None:
    """Return the agency with this name."""
    return session.scalar(select(Agency).where(Agency.name == name))
