"""The signed head of the audit log, published so that a rewrite of the whole log is detected.

The hash chain (`identity.audit.chain`) shows any edit inside the log, but someone with write access
could delete its last rows or rewrite every row and hash from the start: the shorter or new
chain would still be intact. So the head (the id and hash of the latest entry) is signed with our
signing key and published where the database cannot reach it:

- `GET /api/v1/audit/head` answers the signed head at any time, for anyone who keeps copies;
- the first request of each day (the agency's, HAWIYA_TIMEZONE), on whichever instance wins
  the day in the shared store, writes it to the application log (logger ``hawiya.audit``, line
  ``audit head: …``), which is shipped and kept elsewhere;
- `hawiya audit head` prints it, for a daily job that archives it.

`hawiya audit verify --against TOKEN` checks the chain *and* that it still holds the published
entry with the published hash: a log cut short or rewritten since then is named.
"""

import logging
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from identity import clock, db, signing
from identity.audit import chain
from identity.models import AuditEvent
from identity.store import StoreUnavailable, get_store

log = logging.getLogger("hawiya.audit")

TYP = "hwaudit"  # our own JOSE typ for a signed audit head
CLAIMS = ("iss", "iat", "entry", "hash")
# The day key lives two days so the claim outlasts any clock skew between instances.
DAY_KEY_TTL = 2 * 24 * 3600


@dataclass(frozen=True)
class Head:
    """The latest entry of the log (0 and GENESIS when empty) and its signed statement."""

    entry: int
    hash: str
    at: datetime
    token: str


def signed_head(session: Session, now: datetime | None = None) -> Head:
    """Sign the current head of the log with the active key."""
    latest = chain.head(session)
    entry, digest = latest if latest else (0, chain.GENESIS)
    at = now or clock.now()
    claims = {"iss": signing.ISSUER, "iat": int(at.timestamp()), "entry": entry, "hash": digest}
    return Head(entry, digest, at, signing.sign(claims, TYP))


def read_head(token: str) -> dict[str, Any]:
    """Return the claims of a signed head we issued; raise signing.TokenRejected otherwise."""
    claims = signing.read(token.strip(), TYP, signing.ISSUER, CLAIMS)
    if not isinstance(claims["entry"], int) or isinstance(claims["entry"], bool):
        raise signing.TokenRejected("invalid", "entry")
    if not isinstance(claims["hash"], str) or len(claims["hash"]) != 64:
        raise signing.TokenRejected("invalid", "hash")
    return claims


def verify_against(session: Session, token: str) -> chain.VerifyResult:
    """Check the chain, then that it still holds the entry and hash a signed head published."""
    claims = read_head(token)
    result = chain.verify_chain(session)
    if not result.ok:
        return result
    entry, digest = claims["entry"], claims["hash"]
    if entry == 0:
        return result  # published while the log was empty: every chain extends it
    stored = session.execute(select(AuditEvent.hash).where(AuditEvent.id == entry)).scalar()
    if stored is None:
        reason = "it is missing: the log was cut short or rewritten after the head was published"
        return chain.VerifyResult(False, result.checked, entry, reason)
    if stored != digest:
        reason = "its hash differs from the published head: the log was rewritten"
        return chain.VerifyResult(False, result.checked, entry, reason)
    return result


class DailyPublisher:
    """Write the signed head to the log once a local day, across every worker and instance."""

    def __init__(self) -> None:
        self.done_day: str | None = None

    def __call__(self) -> None:
        day = clock.today().isoformat()
        if day == self.done_day:
            return  # the hot path: one comparison
        key = f"audit-head:{day}"
        try:
            if get_store().set(key, "1", DAY_KEY_TTL, only_if_absent=True):
                head = signed_head(db.session())
                log.info("audit head: entry=%d hash=%s token=%s", head.entry, head.hash, head.token)
        except StoreUnavailable:
            return  # nobody could claim the day: a later request tries again
        except (SQLAlchemyError, signing.NoSigningKey):
            log.warning("the daily audit head could not be signed; a later request tries again")
            db.session().rollback()
            with suppress(StoreUnavailable):
                get_store().delete(key)
            return
        self.done_day = day
