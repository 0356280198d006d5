"""Agencies that verify through the API: their keys (stored hashed), scope and rate limit."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from identity.audit import chain
from identity.errors import Refused
from identity.models import SCOPE_ATTRIBUTES, Agency
from identity.register import fields

KEY_PREFIX = "hwy_"
DEFAULT_RATE_LIMIT = 600  # verifications per minute and key


class InvalidAgency(Refused):
    """An agency definition that cannot be stored; the message says why."""

    code = "invalid-input"


@dataclass(frozen=True)
class NewKey:
    """An agency and its API key, which is shown once and never stored."""

    agency: Agency
    key: str


def hash_key(key: str) -> str:
    """Return the stored form of an API key (keys are 256 random bits: a plain hash suffices)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


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


def _new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


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
    key = _new_key()
    agency = Agency(
        name=name,
        purpose=purpose,
        scope=",".join(scopes),
        key_hash=hash_key(key),
        key_prefix=key[:10],
        active=True,
        rate_limit=rate_limit,
    )
    session.add(agency)
    session.flush()
    chain.record(session, actor, "agency.create", f"agency:{agency.id}", {"scope": agency.scope})
    return NewKey(agency, key)


def rotate_key(session: Session, agency: Agency, actor: str) -> str:
    """Give an agency a new key; the old one stops working at once."""
    key = _new_key()
    agency.key_hash, agency.key_prefix = hash_key(key), key[:10]
    chain.record(session, actor, "agency.rotate_key", f"agency:{agency.id}")
    return key


def set_active(session: Session, agency: Agency, active: bool, actor: str) -> None:
    """Enable or disable an agency; a disabled agency's key is refused on the next request."""
    agency.active = active
    action = "agency.enable" if active else "agency.disable"
    chain.record(session, actor, action, f"agency:{agency.id}")


# Built once: this lookup runs on every agency request.
BY_KEY_HASH = select(Agency).where(Agency.key_hash == bindparam("key_hash"))


def authenticate(session: Session, key: str | None) -> Agency | None:
    """Return the active agency holding this key, or None (a missing, wrong or revoked key)."""
    if not key or not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None
    wanted = hash_key(key)
    agency = session.scalar(BY_KEY_HASH, {"key_hash": wanted})
    if agency is None or not agency.active or not hmac.compare_digest(agency.key_hash, wanted):
        return None
    return agency


def by_name(session: Session, name: str) -> Agency | None:
    """Return the agency with this name."""
    return session.scalar(select(Agency).where(Agency.name == name))
