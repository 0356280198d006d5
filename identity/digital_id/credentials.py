"""Credentials (digital IDs): issue them, sign the short-lived token a phone shows as a QR.

A credential is an opaque random id (96 bits) and a live status; nothing personal goes into a
token. The phone's token lives QR_TTL seconds, so a screenshot passed on stops working; its
truth is the register, read at every scan.
"""

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import exists, func, insert, select
from sqlalchemy.orm import Session

from identity import db, signing
from identity.audit import chain
from identity.digital_id import status_list
from identity.errors import Refused
from identity.models import Beneficiary, Credential, utcnow
from identity.register import fields

ID_BYTES = 12  # 96 bits: 16 base64url characters, short enough to keep the QR small
PHONE_TYP = "hwid"  # our own JOSE typ for the phone ID token
PHONE_CLAIMS = ("iss", "sub", "iat", "exp")
# The phone token's place in the status list (the credential's status index: list number =
# sli // status_list.SIZE, at <PUBLIC_URL>/status/<number>), for a verifier without a connection.
# One short claim rather than the draft's `status.status_list` {idx, uri}: the QR must stay small.
STATUS_CLAIM = "sli"
# The dense form of a phone token in its URL: each character as two digits, its code minus 45
# (the SMART Health Cards numeric encoding), so the QR can hold it in numeric mode.
NUMERIC_OFFSET = 45
TOKEN_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
CREDENTIAL_TYP = "hwcred"  # our own JOSE typ for the app's long-lived credential token
CREDENTIAL_LIFETIME = 30 * 86400  # seconds; its status is the status list's, read offline
CREDENTIAL_CLAIMS = ("iss", "sub", "iat", "exp", "status")
LEEWAY = 5  # seconds of clock difference forgiven on `exp`, `iat` and the lifetime
BATCH = 1000


def new_id() -> str:
    """Return a fresh opaque credential id."""
    return secrets.token_urlsafe(ID_BYTES)


def current(session: Session, beneficiary_id: int) -> Credential | None:
    """Return the beneficiary's newest credential, whatever its status."""
    return session.scalar(
        select(Credential)
        .where(Credential.beneficiary_id == beneficiary_id)
        .order_by(Credential.status_index.desc())
        .limit(1)
    )


def issue(session: Session, beneficiary: Beneficiary, actor: str) -> Credential:
    """Return the beneficiary's credential, issuing one if they have none that is not revoked.

    Runs in the caller's transaction, with its audit entry.
    """
    existing = current(session, beneficiary.id)
    if existing is not None and existing.status != "revoked":
        return existing
    now = utcnow()
    credential = Credential(
        id=new_id(),
        beneficiary_id=beneficiary.id,
        status="active",
        changed_by=actor,
        changed_at=now,
        issued_at=now,
        issued_by=actor,
        kid=signing.active_kid(),
    )
    session.add(credential)
    session.flush()
    chain.record(
        session,
        actor,
        "credential.issue",
        chain.subject_for_civil_id(beneficiary.civil_id),
        {"credential": credential.id, "status_index": credential.status_index},
    )
    return credential


def for_holder(session: Session, beneficiary_id: int, actor: str) -> Credential | None:
    """Return the ID a signed-in beneficiary shows: their newest, or a first one if they have none.

    The one path by which sign-in and the card give out IDs. It never replaces a revoked ID (that
    takes an explicit `issue`, as for the bulk issue): a revocation before someone's first sign-in
    stays in force. None if no such beneficiary. Runs in the caller's transaction.
    """
    credential = current(session, beneficiary_id)
    if credential is not None:
        return credential
    person = session.get(Beneficiary, beneficiary_id)
    return None if person is None else issue(session, person, actor)


def issue_all(actor: str, progress: Callable[[int], None] | None = None) -> int:
    """Issue a credential to every beneficiary who never had one, in committed batches.

    Re-running it issues nothing twice; an interrupted run resumes where it stopped. Returns
    how many were issued.
    """
    session = db.session()
    kid = signing.active_kid()
    issued = 0
    never_had_one = ~exists().where(Credential.beneficiary_id == Beneficiary.id)
    while True:
        ids = session.scalars(
            select(Beneficiary.id).where(never_had_one).order_by(Beneficiary.id).limit(BATCH)
        ).all()
        if not ids:
            return issued
        now = utcnow()
        rows = [
            {"id": new_id(), "beneficiary_id": beneficiary_id, "status": "active",
             "changed_by": actor, "changed_at": now, "issued_at": now, "issued_by": actor,
             "kid": kid}
            for beneficiary_id in ids
        ]  # fmt: skip
        session.execute(insert(Credential.__table__), rows)  # type: ignore[arg-type]
        chain.record(session, actor, "credential.issue_bulk", "credentials", {"count": len(ids)})
        session.commit()
        issued += len(ids)
        if progress:
            progress(len(ids))


def count_without_credential() -> int:
    """Return how many beneficiaries never had a credential."""
    never_had_one = ~exists().where(Credential.beneficiary_id == Beneficiary.id)
    return db.session().scalar(select(func.count(Beneficiary.id)).where(never_had_one)) or 0


@dataclass(frozen=True)
class PhoneToken:
    """What the phone shows: the URL in the QR and when it stops working."""

    url: str
    expires_at: int


def phone_token(credential: Credential, now: int | None = None) -> PhoneToken:
    """Sign a fresh phone token: `<PUBLIC_URL>/v/<the JWS in digits>`, valid QR_TTL seconds."""
    issued = int(time.time()) if now is None else now
    expires = issued + current_app.config["QR_TTL"]
    claims = {
        "iss": signing.ISSUER, "sub": credential.id, "iat": issued, "exp": expires,
        STATUS_CLAIM: credential.status_index,
    }  # fmt: skip
    token = numeric(signing.sign(claims, PHONE_TYP))
    return PhoneToken(f"{current_app.config['PUBLIC_URL'].rstrip('/')}/v/{token}", expires)


def numeric(token: str) -> str:
    """Return a compact JWS in its dense form, two digits per character (see `from_numeric`)."""
    return "".join(f"{ord(char) - NUMERIC_OFFSET:02d}" for char in token)


def from_numeric(digits: str) -> str | None:
    """Return the compact JWS of a token's dense form, or None when it is not one.

    Each character has exactly one pair of digits, so a token keeps one spelling in this form.
    """
    if not (digits.isascii() and digits.isdigit()) or len(digits) % 2:
        return None
    token = "".join(chr(int(digits[i : i + 2]) + NUMERIC_OFFSET) for i in range(0, len(digits), 2))
    return token if TOKEN_CHARACTERS.issuperset(token) else None


@dataclass(frozen=True)
class CredentialToken:
    """What the app keeps for offline checks: the signed token and when it stops working."""

    token: str
    expires_at: int


def credential_token(credential: Credential, now: int | None = None) -> CredentialToken:
    """Sign the app's long-lived credential token, which points at its status list entry.

    Like the phone token it names only the opaque credential id; a verifier that caches our
    JWKS and `/status/<n>` learns its status offline (identity/digital_id/status_list.py).
    """
    issued = int(time.time()) if now is None else now
    expires = issued + CREDENTIAL_LIFETIME
    claims = {
        "iss": signing.ISSUER, "sub": credential.id, "iat": issued, "exp": expires,
        "status": {"status_list": status_list.reference(credential.status_index)},
    }  # fmt: skip
    return CredentialToken(signing.sign(claims, CREDENTIAL_TYP), expires)


def read_phone_token(token: str) -> dict[str, object]:
    """Return the verified claims of a phone token; raise signing.TokenRejected otherwise.

    A phone token lives QR_TTL seconds: one that claims a longer life is invalid. It comes as
    the compact JWS or in its dense form of digits (`numeric`).
    """
    if isinstance(token, str) and token.isdigit():
        if len(token) > 2 * signing.MAX_TOKEN_CHARS:  # before any work is spent on it
            raise signing.TokenRejected("invalid", "oversized")
        decoded = from_numeric(token)
        if decoded is None:
            raise signing.TokenRejected("invalid", "malformed")
        token = decoded
    return signing.read(
        token, PHONE_TYP, signing.ISSUER, PHONE_CLAIMS, leeway=LEEWAY,
        max_lifetime=current_app.config["QR_TTL"],
    )  # fmt: skip


def read_credential_token(token: str) -> dict[str, object]:
    """Return the verified claims of the app's credential token; raise signing.TokenRejected.

    Its lifetime policy is its own: at most CREDENTIAL_LIFETIME between `iat` and `exp`.
    """
    return signing.read(
        token, CREDENTIAL_TYP, signing.ISSUER, CREDENTIAL_CLAIMS, leeway=LEEWAY,
        max_lifetime=CREDENTIAL_LIFETIME,
    )  # fmt: skip


def by_id(session: Session, credential_id: str) -> Credential | None:
    """Return the credential with this opaque id, if any."""
    if not isinstance(credential_id, str) or len(credential_id) > 32:
        return None
    return session.scalar(select(Credential).where(Credential.id == credential_id))


# What each action does to a credential's status, and from which statuses it may start.
TRANSITIONS = {
    "revoke": ({"active", "suspended"}, "revoked"),
    "suspend": ({"active"}, "suspended"),
    "reinstate": ({"suspended"}, "active"),
}


class StatusRefused(Refused):
    """A status change that is not allowed: "conflict" when the credential's state forbids it."""

    def __init__(self, message: str, conflict: bool = False) -> None:
        super().__init__(message, code="conflict" if conflict else "invalid-input")

    @property
    def conflict(self) -> bool:
        """Whether the credential's state, not the request, forbids the change."""
        return self.code == "conflict"


def change_status(
    session: Session, credential: Credential, action: str, reason: object, actor: str
) -> None:
    """Revoke, suspend or reinstate a credential with a reason, audited in the same transaction.

    The change is one compare-and-set on the status this request read: when another change
    committed in between (a reinstate racing a revoke, two revokes), exactly one of them wins
    and the other is refused as a conflict, so a revocation is never silently undone and the
    audit's "from" is the status actually replaced. In force everywhere once the caller commits.
    """
    if action not in TRANSITIONS:
        raise StatusRefused(f"Unknown action {action!r}.")
    try:
        text = fields.free_text("reason", "reason", reason, 3, 200)
    except fields.InvalidField as invalid:
        raise StatusRefused(fields.sentence(invalid)) from None
    allowed, target = TRANSITIONS[action]
    before = credential.status
    change = {"status": target, "reason": text, "changed_by": actor,
              "changed_at": utcnow()}  # fmt: skip
    won = before in allowed and db.compare_and_set(session, credential, {"status": before}, change)
    if not won:
        session.expire(credential)  # read the status that won, for the message
        raise StatusRefused(f"The digital ID is {credential.status}: it cannot be {action}d.", True)
    chain.record(
        session, actor, f"credential.{action}", f"credential:{credential.id}",
        {"from": before, "to": target, "reason": change["reason"]},
    )  # fmt: skip
