"""IETF Token Status Lists (draft-ietf-oauth-status-list): the offline status path.

A verifier that caches our JWKS and `/status/<n>` checks a long-lived credential token without
calling us. Each list holds SIZE entries of 2 bits, list number = status index // SIZE, so a
credential's list and place never move. An entry says what a live check would say:

- 0 VALID: the credential is active and its holder is active in the register;
- 1 INVALID: the credential is revoked, or its holder is deceased;
- 2 SUSPENDED: the credential is suspended, or its holder is suspended or inactive.

How a list stays current: it is built on request from the register (the credentials joined
with their holders) and kept in the store under the current *version*, a random token. A commit
that wrote to the credentials or the beneficiaries table (through the ORM or a Core statement
on a Session: every change path of the project) replaces the version once it has committed, so
the next fetch builds again. We chose this over keeping the list bytes in the store and setting
2 bits at each change because a beneficiary's status changes a list too, and those changes come
in bulk (the CSV import, Core UPDATEs); rebuilding from the truth cannot drift from it, and a
rebuild is cheap: about 0.4 s for a full list of 1,000,000 credentials on SQLite
(bench/status_list_bench.py). Only a write that bypasses the Session (raw SQL on a connection)
would go unseen until CACHE_SECONDS pass.

The version moves only *after* the commit, so a fetch that sees the new version reads the new
state; one that raced the commit stores its list under the old version, which nobody asks for.

Staleness, made explicit:

- our answer: a change is in every list fetched after its transaction commits. Only if the store
  could not be reached at that instant does an older list stay, for at most CACHE_SECONDS;
- a verifier's copy: at most TTL seconds old (the `ttl` claim and `Cache-Control: max-age`),
  and usable offline until `exp`, after which it must fetch again.
"""

import base64
import logging
import secrets
import time
import zlib
from collections.abc import Callable
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event, func, or_, select
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from identity import db, signing
from identity.models import Beneficiary, Credential, standing
from identity.store import StoreUnavailable, get_store

log = logging.getLogger(__name__)

BITS = 2
SIZE = 2**20  # entries per list: 256 KiB of bits, a few hundred bytes compressed when all valid
CHUNK = 2**16  # entries read per query while building (the progress step)
VALID, INVALID, SUSPENDED = 0, 1, 2
TYP = "statuslist+jwt"
MEDIA_TYPE = "application/statuslist+jwt"
TTL = 300  # seconds a verifier may keep a list before fetching it again
LIFETIME = 86400  # exp - iat: how long an offline verifier may go on using one list
CACHE_SECONDS = 60  # how long we keep a built list if no change ever replaced the version
VERSION_KEY = "status-list:version"
VERSION_SECONDS = 7 * 86400  # a lost or expired version only costs one rebuild
PENDING = "hawiya.status_list.changed"
WATCHED_TABLES = frozenset({Credential.__tablename__, Beneficiary.__tablename__})

# The 2-bit value of each standing (identity.models.standing: the rule a live check reads too).
BY_STANDING = {"valid": VALID, "revoked": INVALID, "suspended": SUSPENDED}


def list_number(status_index: int) -> int:
    """Return the number of the list that holds this status index."""
    return status_index // SIZE


def uri(number: int) -> str:
    """Return the public address of a list: the `sub` of its token and the `uri` of references."""
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/status/{number}"


def reference(status_index: int) -> dict[str, Any]:
    """Return the `status_list` member a credential token carries: its idx and its list's uri."""
    return {"idx": status_index, "uri": uri(list_number(status_index))}


def entry(credential_status: str, holder_status: str) -> int:
    """Return the 2-bit status of a credential, read with its holder's status in the register."""
    return BY_STANDING[standing(credential_status, holder_status)]


def set_entry(bits: bytearray, position: int, value: int) -> None:
    """Write a 2-bit value at a position: entry 0 in the least significant bits of byte 0."""
    byte, shift = divmod(position, 8 // BITS)
    shift *= BITS
    bits[byte] = (bits[byte] & ~(0b11 << shift)) | (value << shift)


def encode(bits: bytes | bytearray) -> str:
    """Return `lst`: base64url (no padding) of the ZLIB/DEFLATE-compressed bytes."""
    return base64.urlsafe_b64encode(zlib.compress(bits, 9)).rstrip(b"=").decode("ascii")


def build_bits(
    session: Session, number: int, progress: Callable[[int], None] | None = None
) -> bytearray:
    """Read list `number` from the register: SIZE entries, 2 bits each.

    Only credentials that are not plainly valid are fetched (a new list is mostly zeros), one
    CHUNK of indices per query; progress is told how many entries each query covered.
    """
    bits = bytearray(SIZE * BITS // 8)
    first = number * SIZE
    for start in range(first, first + SIZE, CHUNK):
        rows = session.execute(
            select(Credential.status_index, Credential.status, Beneficiary.status)
            .join(Beneficiary, Beneficiary.id == Credential.beneficiary_id)
            .where(
                Credential.status_index >= start,
                Credential.status_index < start + CHUNK,
                or_(Credential.status != "active", Beneficiary.status != "active"),
            )
        )
        for index, credential_status, holder_status in rows:
            set_entry(bits, index - first, entry(credential_status, holder_status))
        if progress:
            progress(CHUNK)
    return bits


def exists(session: Session, number: int) -> bool:
    """Return whether list `number` is one we hand out: some index was allocated in it or later."""
    if number < 0:
        return False
    if number == 0:
        return True  # the first list exists before the first credential is issued
    highest = session.scalar(select(func.max(Credential.status_index))) or 0
    return number <= list_number(highest)


def sign(number: int, bits: bytes | bytearray, now: int | None = None) -> str:
    """Sign list `number` as a Status List Token (typ statuslist+jwt)."""
    issued = int(time.time()) if now is None else now
    claims = {
        "iss": signing.ISSUER,
        "sub": uri(number),
        "iat": issued,
        "exp": issued + LIFETIME,
        "ttl": TTL,
        "status_list": {"bits": BITS, "lst": encode(bits)},
    }
    return signing.sign(claims, TYP)


def version() -> str:
    """Return the current version of the lists, starting one if there is none."""
    store = get_store()
    current = store.get(VERSION_KEY)
    if current is None:
        fresh = secrets.token_hex(8)
        store.set(VERSION_KEY, fresh, VERSION_SECONDS, only_if_absent=True)
        current = store.get(VERSION_KEY) or fresh
    return current


def token(number: int) -> str | None:
    """Return the signed list `number` as of now, or None if there is no such list."""
    store = get_store()
    # Read the version before the register: see the module docstring for why this order. The
    # active kid is part of the key, so a rotated key signs the very next fetch.
    key = f"status-list:{number}:{version()}:{signing.active_kid()}"
    cached = store.get(key)
    if cached is not None:
        return cached
    session = db.session()
    if not exists(session, number):
        return None
    signed = sign(number, build_bits(session, number))
    store.set(key, signed, CACHE_SECONDS)
    return signed


def changed() -> None:
    """Start a new version, so the next fetch of any list builds it again from the register."""
    get_store().set(VERSION_KEY, secrets.token_hex(8), VERSION_SECONDS)


# Write-through: every session that wrote to the watched tables replaces the version once its
# transaction has committed. Listening on the Session class covers every change path at once.


@event.listens_for(Session, "after_flush")
def _note_orm_changes(session: Session, _context: object) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Credential | Beneficiary):
            session.info[PENDING] = True
            return


@event.listens_for(Session, "do_orm_execute")
def _note_statements(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in WATCHED_TABLES:
            state.session.info[PENDING] = True


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    if not session.info.pop(PENDING, False) or not has_app_context():
        return
    try:
        changed()
    except StoreUnavailable:
        # The change is committed; lists cached before it expire within CACHE_SECONDS.
        log.warning("status lists: the store is unreachable, cached lists stay until they expire")


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    # Only the outermost transaction decides: a savepoint rolled back inside a transaction that
    # later commits must not drop the note. After a commit, _publish has already taken it.
    if transaction.parent is None:
        session.info.pop(PENDING, None)
