"""Agencies that verify through the API: their keys (stored hashed), scope and rate limit.

Every API request names its agency by key, so each process keeps the active agencies in memory
(`known`), read again from the register at most `KNOWN_FOR` seconds after the last read: a
disabled agency or a replaced key is refused within that window on every instance, at once in
the process that made the change, and a key the memory does not hold (a new one) is looked up in
the register, so it works at once.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from identity import db
from identity.access.bearer_secrets import BearerSecrets
from identity.audit import chain
from identity.errors import Refused
from identity.models import SCOPE_ATTRIBUTES, Agency
from identity.register import fields

KEY_PREFIX = "hwy_"
DEFAULT_RATE_LIMIT = 600  # verifications per minute and key
KEYS = BearerSecrets(KEY_PREFIX, Agency, Agency.key_hash)
KNOWN_FOR = 1.0  # seconds: how stale a process's view of the agencies may be
CACHE_EXTENSION = "hawiya.agencies"
ACTIVE = select(Agency).where(Agency.active.is_(True))


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
    _forget_when_committed(session)
    return NewKey(agency, key.secret)


def rotate_key(session: Session, agency: Agency, actor: str) -> str:
    """Give an agency a new key; the old one stops working at once."""
    key = KEYS.mint()
    agency.key_hash, agency.key_prefix = key.digest, key.shown
    chain.record(session, actor, "agency.rotate_key", f"agency:{agency.id}")
    _forget_when_committed(session)
    return key.secret


def set_active(session: Session, agency: Agency, active: bool, actor: str) -> None:
    """Enable or disable an agency; a disabled agency's key is refused on the next request."""
    agency.active = active
    action = "agency.enable" if active else "agency.disable"
    chain.record(session, actor, action, f"agency:{agency.id}")
    _forget_when_committed(session)


def authenticate(session: Session, key: str | None) -> Agency | None:
    """Return the active agency holding this key, or None (a missing, wrong or revoked key)."""
    agency = KEYS.find(session, key)
    return agency if agency is not None and agency.active else None


def by_name(session: Session, name: str) -> Agency | None:
    """Return the agency with this name."""
    return session.scalar(select(Agency).where(Agency.name == name))


@dataclass(frozen=True)
class KnownAgency:
    """What a request needs of its agency, held in memory between requests."""

    id: int
    name: str
    scopes: tuple[str, ...]
    rate_limit: int

    @classmethod
    def of(cls, agency: Agency) -> "KnownAgency":
        """Return the in-memory view of an agency read from the register."""
        return cls(agency.id, agency.name, agency.scopes, agency.rate_limit)


class KnownAgencies:
    """One app's in-memory view of its active agencies, by key hash, and when it was read."""

    def __init__(self) -> None:
        # One tuple, replaced in one assignment: a thread sees one view or the other, whole.
        self._view: tuple[float, dict[str, KnownAgency]] = (float("-inf"), {})

    def find(self, session: Callable[[], Session], key: str | None) -> KnownAgency | None:
        """Return the active agency holding this key, reading the register when the view is old.

        `session` is called only when the register is read: a request answered from memory
        opens none.
        """
        hashed = KEYS.digest_of(key)
        if hashed is None:
            return None
        read_at, by_hash = self._view
        if time.monotonic() - read_at > KNOWN_FOR:
            by_hash = self._read(session())
        found = by_hash.get(hashed)
        if found is not None:
            return found
        agency = authenticate(session(), key)  # not in memory: a key made since, or none of ours
        return KnownAgency.of(agency) if agency is not None else None

    def _read(self, session: Session) -> dict[str, KnownAgency]:
        read_at = time.monotonic()
        by_hash = {agency.key_hash: KnownAgency.of(agency) for agency in session.scalars(ACTIVE)}
        self._view = (read_at, by_hash)
        return by_hash

    def forget(self) -> None:
        """Drop the view: the next request reads the register again."""
        self._view = (float("-inf"), {})


def known(key: str | None) -> KnownAgency | None:
    """Return the current app's active agency holding this key (at most KNOWN_FOR seconds old)."""
    view: KnownAgencies = current_app.extensions.setdefault(CACHE_EXTENSION, KnownAgencies())
    return view.find(db.session, key)


def _forget_when_committed(session: Session) -> None:
    """Make this process read the agencies again once the change is committed."""
    if has_app_context():
        view: KnownAgencies | None = current_app.extensions.get(CACHE_EXTENSION)
        if view is not None:
            db.after_commit(session, view.forget)
