"""Staff accounts: argon2 passwords, TOTP codes, roles and what each role may do.

Staff sign in with a username, a password and the 6-digit code of their authenticator app
(TOTP, RFC 6238, 30-second steps, one step of clock drift either way). A code is accepted once:
its step is claimed atomically in the store. Failures are counted under the username typed,
whether or not it exists, so the lockout reveals nothing: LOCK_AFTER failures in a row lock that
name for LOCK_SECONDS, and while it is locked even the right password and code are refused.
An unknown name costs the same argon2 work as a known one.

Every change is audited in the caller's transaction; a sign-in commits its own audit entry.
"""

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from functools import cache

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from identity import db, ratelimit
from identity.audit import chain
from identity.errors import Refused
from identity.models import STAFF_ROLES, StaffUser, utcnow
from identity.store import get_store

ROLES = STAFF_ROLES
# What each role may do. Every console view names one of these permissions.
PERMISSIONS: dict[str, frozenset[str]] = {
    "auditor": frozenset({"read"}),
    "issuer": frozenset({"read", "issue", "revoke"}),
    "admin": frozenset(
        {
            "read",
            "issue",
            "revoke",
            "manage_staff",
            "manage_agencies",
            "manage_keys",
            "manage_document_types",
        }
    ),
}
LOCK_AFTER = 5
LOCK_SECONDS = 15 * 60
TOTP_STEP = 30
TOTP_DRIFT = 1  # steps accepted either side of now
TOTP_ISSUER = "Hawiya"
PASSWORD_BYTES = 12  # 16 URL-safe characters, 96 bits
PASSWORD_MIN, PASSWORD_MAX = 12, 256
SIGN_INS_PER_ADDRESS = 30  # attempts per address per LOCK_SECONDS, across usernames
USERNAME = re.compile(r"[a-z][a-z0-9._-]{2,31}")

_hasher = PasswordHasher()


class StaffRefused(Refused):
    """A staff change that cannot be made; the message says why."""

    code = "invalid-input"


class SignInRefused(Refused):
    """A refused sign-in; `locked` when the name is locked (even right credentials are refused)."""

    def __init__(self, locked: bool = False) -> None:
        if locked:
            super().__init__("Too many failed sign-ins: this name is locked.", code="locked")
        else:
            super().__init__("The username, password or code is not right.", code="sign-in-refused")

    @property
    def locked(self) -> bool:
        """Whether the name is locked (then even the right credentials are refused)."""
        return self.code == "locked"


@dataclass(frozen=True)
class NewStaff:
    """A new staff user with the one-time password and the TOTP URI, shown once."""

    user: StaffUser
    password: str
    totp_uri: str


def can(role: str, permission: str) -> bool:
    """Tell whether a role holds a permission."""
    return permission in PERMISSIONS.get(role, frozenset())


def normalize_username(raw: object) -> str:
    """Return a username as stored: trimmed, lower case."""
    return raw.strip().lower() if isinstance(raw, str) else ""


def subject(username: str) -> str:
    """Return the audit subject and actor name of a staff user."""
    return f"staff:{username}"


def totp_uri(user: StaffUser) -> str:
    """Return the otpauth:// URI an authenticator app reads (from a QR or typed)."""
    return pyotp.TOTP(user.totp_secret).provisioning_uri(
        name=user.username, issuer_name=TOTP_ISSUER
    )


def by_username(session: Session, username: str) -> StaffUser | None:
    """Return the staff user with this name, if any."""
    return session.scalar(select(StaffUser).where(StaffUser.username == username))


def create(session: Session, username: str, role: str, actor: str) -> NewStaff:
    """Create a staff user with a random password and TOTP secret, audited, not committed."""
    name = normalize_username(username)
    if not USERNAME.fullmatch(name):
        raise StaffRefused(
            "A username is 3 to 32 characters: letters a-z, digits, '.', '_' or '-', "
            "starting with a letter."
        )
    if role not in ROLES:
        raise StaffRefused(f"Unknown role {role!r}; choose from: {', '.join(ROLES)}.")
    if by_username(session, name) is not None:
        raise StaffRefused(f"A staff user named {name!r} exists already.")
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    user = StaffUser(
        username=name,
        password_hash=_hasher.hash(password),
        totp_secret=pyotp.random_base32(),
        role=role,
        active=True,
        must_change_password=True,
        created_at=utcnow(),
        created_by=actor,
    )
    session.add(user)
    session.flush()
    chain.record(session, actor, "staff.create", subject(name), {"role": role})
    return NewStaff(user, password, totp_uri(user))


def set_active(session: Session, user: StaffUser, active: bool, actor: str) -> None:
    """Enable or disable a staff user; a disabled user's sessions end at their next request."""
    if user.active == active:
        return
    user.active = active
    action = "staff.enable" if active else "staff.disable"
    chain.record(session, actor, action, subject(user.username))


def reset(session: Session, user: StaffUser, actor: str) -> NewStaff:
    """Give a staff user a new password and TOTP secret (a lost phone), audited, not committed.

    Every session of the user ends at its next request (its credentials stamp no longer matches).
    """
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    user.password_hash, user.totp_secret = _hasher.hash(password), pyotp.random_base32()
    user.must_change_password = True
    chain.record(session, actor, "staff.reset", subject(user.username))
    return NewStaff(user, password, totp_uri(user))


def change_password(
    session: Session, user: StaffUser, current: object, new: object, repeated: object
) -> None:
    """Replace the password (the one-time one at first sign-in), audited, not committed.

    Every session of the user opened before ends at its next request (credentials_stamp); the
    caller renews the one that made the change. Raises StaffRefused with the reason as its code:
    "password-current" (wrong), "password-length", "password-repeat" or "password-same".
    """
    if not isinstance(current, str) or not _password_matches(user, current[:PASSWORD_MAX]):
        raise StaffRefused("The current password is not right.", code="password-current")
    if not isinstance(new, str) or not PASSWORD_MIN <= len(new) <= PASSWORD_MAX:
        raise StaffRefused(
            f"A password is {PASSWORD_MIN} to {PASSWORD_MAX} characters.", code="password-length"
        )
    if new != repeated:
        raise StaffRefused("The two new passwords differ.", code="password-repeat")
    if new == current:
        raise StaffRefused("The new password is the old one.", code="password-same")
    user.password_hash, user.must_change_password = _hasher.hash(new), False
    chain.record(session, subject(user.username), "staff.password_change", subject(user.username))


def credentials_stamp(user: StaffUser) -> str:
    """Return a keyed digest of the user's password hash and TOTP secret, to bind sessions to.

    Changing either (a password change, a reset) changes the stamp and so ends every session
    opened before, on every instance, with nothing to enumerate in the store. Keyed, so a store
    dump reveals nothing about the hash or the secret.
    """
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    material = f"staff:{user.id}:{user.password_hash}:{user.totp_secret}".encode()
    return hmac.new(key, material, hashlib.sha256).hexdigest()


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _password_matches(user: StaffUser | None, password: str) -> bool:
    # An unknown name is checked against a throwaway hash: the same work, always False.
    try:
        matched = _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return bool(matched) and user is not None


def _claim_totp(user: StaffUser, code: str, now: float) -> bool:
    """Accept a current code once: it is claimed in the store with SET NX."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return False
    totp = pyotp.TOTP(user.totp_secret)
    step_now = int(now // TOTP_STEP)
    for step in range(step_now - TOTP_DRIFT, step_now + TOTP_DRIFT + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            # Keyed by the code too: after a reset (a new secret) the step is free again.
            key = f"staff:totp-used:{user.id}:{step}:{code}"
            ttl = TOTP_STEP * (2 * TOTP_DRIFT + 2)
            return get_store().set(key, "1", ttl, only_if_absent=True)
    return False


def authenticate(username: object, password: object, code: object, address: str) -> StaffUser:
    """Check password and TOTP code; return the active user, or raise SignInRefused.

    Audits the failure or the success and commits it.
    """
    ratelimit.hit(f"staff-login:{address}", SIGN_INS_PER_ADDRESS, LOCK_SECONDS)
    name = normalize_username(username)
    if not USERNAME.fullmatch(name):
        name = ""
    store = get_store()
    if name and store.get(f"staff:lock:{name}") is not None:
        raise SignInRefused(locked=True)
    session = db.session()
    user = by_username(session, name) if name else None
    password_text = password if isinstance(password, str) and len(password) <= 256 else ""
    ok = _password_matches(user, password_text)
    ok = ok and user is not None and user.active
    ok = ok and user is not None and _claim_totp(user, code if isinstance(code, str) else "",
                                                   time.time())  # fmt: skip
    if not ok or user is None:
        locked = False
        if name:
            failures = store.incr(f"staff:fails:{name}", LOCK_SECONDS)
            locked = failures >= LOCK_AFTER
            who = subject(name)
            chain.record(session, who, "staff.login_failure", who, {"failures": failures})
            if locked:
                store.set(f"staff:lock:{name}", "1", LOCK_SECONDS)
                store.delete(f"staff:fails:{name}")
                chain.record(session, "system", "staff.locked", who, {"seconds": LOCK_SECONDS})
        else:
            chain.record(session, "staff:?", "staff.login_failure", "staff:?", {})
        session.commit()
        raise SignInRefused(locked=locked)
    store.delete(f"staff:fails:{name}")
    user.last_login_at = utcnow()
    chain.record(session, subject(name), "staff.login", subject(name), {"role": user.role})
    session.commit()
    return user
