"""Server-side sessions for beneficiaries: an opaque token, state kept in the store.

The token goes to a browser in a `__Host-` cookie or to the mobile app as a bearer token; the
store keys sessions by the token's SHA-256, so a store dump holds no usable token. A session
ends after SESSION_IDLE seconds without use or SESSION_MAX seconds after sign-in, whichever
comes first.
"""

import hashlib
import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

from flask import current_app

from identity.store import get_store

COOKIE = "__Host-hawiya"
WEB, API = "web", "api"


@dataclass(frozen=True)
class HolderSession:
    """Who is signed in, since when, and through which door."""

    account_id: int
    beneficiary_id: int
    kind: str
    created: float


HOLDER_PREFIX, STAFF_PREFIX = "sess:", "staff-sess:"  # separate key spaces in the store


def _key(prefix: str, token: str) -> str:
    return prefix + hashlib.sha256(token.encode("utf-8")).hexdigest()


def _ttl(created: float, now: float) -> int:
    """Seconds the session may live from now: the idle limit, capped by the absolute one."""
    idle, maximum = current_app.config["SESSION_IDLE"], current_app.config["SESSION_MAX"]
    return int(min(idle, created + maximum - now))


def _start(prefix: str, state: dict[str, Any]) -> str:
    """Store a new session's state (with its "created" time) and return its new token."""
    token = secrets.token_urlsafe(32)
    get_store().set(
        _key(prefix, token), json.dumps(state), _ttl(float(state["created"]), time.time())
    )
    return token


def _resume(prefix: str, token: str | None, **expected: object) -> dict[str, Any] | None:
    """Return a live session's state with the expected values, extending its idle time."""
    if not token or len(token) > 128:
        return None
    store = get_store()
    raw = store.get(_key(prefix, token))
    if raw is None:
        return None
    state: dict[str, Any] = json.loads(raw)
    remaining = _ttl(float(state["created"]), time.time())
    if remaining <= 0 or any(state.get(name) != value for name, value in expected.items()):
        return None
    store.set(_key(prefix, token), raw, remaining)
    return state


def _end(prefix: str, token: str | None) -> None:
    if token and len(token) <= 128:
        get_store().delete(_key(prefix, token))


def create(account_id: int, beneficiary_id: int, kind: str) -> str:
    """Start a session and return its new token (never reused: renewed at every sign-in)."""
    return _start(
        HOLDER_PREFIX, asdict(HolderSession(account_id, beneficiary_id, kind, time.time()))
    )


def load(token: str | None, kind: str) -> HolderSession | None:
    """Return the live session for this token and door, extending its idle time; else None."""
    state = _resume(HOLDER_PREFIX, token, kind=kind)
    return None if state is None else HolderSession(**state)


def destroy(token: str | None) -> None:
    """End the session of this token, if any."""
    _end(HOLDER_PREFIX, token)


def cookie_options() -> dict[str, object]:
    """Return the attributes of the session cookie (`__Host-` demands Secure and Path=/)."""
    return {"secure": True, "httponly": True, "samesite": "Lax", "path": "/"}


# Staff sessions: the same store and timeouts, their own cookie and key space, so a
# beneficiary's token can never open the console (nor the reverse).
STAFF_COOKIE = "__Host-hawiya-staff"


@dataclass(frozen=True)
class StaffSession:
    """Which staff user is signed in, since when, and with which credentials.

    `credentials` is staff.credentials_stamp of the user at sign-in: a new password or TOTP
    secret changes the stamp, so every session opened with the old ones ends at its next
    request (a session stored before stamps existed has none, and ends too).
    """

    staff_id: int
    created: float
    credentials: str = ""


def create_staff(staff_id: int, credentials: str) -> str:
    """Start a staff session bound to the user's credentials stamp; return its new token."""
    return _start(STAFF_PREFIX, asdict(StaffSession(staff_id, time.time(), credentials)))


def load_staff(token: str | None) -> StaffSession | None:
    """Return the live staff session for this token, extending its idle time; else None."""
    state = _resume(STAFF_PREFIX, token)
    return None if state is None else StaffSession(**state)


def destroy_staff(token: str | None) -> None:
    """End the staff session of this token, if any."""
    _end(STAFF_PREFIX, token)


def staff_cookie_options() -> dict[str, object]:
    """Return the staff cookie's attributes: like the holder's, but never sent cross-site."""
    return {"secure": True, "httponly": True, "samesite": "Strict", "path": "/"}
