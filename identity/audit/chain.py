"""The tamper-evident audit log: an append-only, hash-chained table of what happened.

Each row's hash covers the row before it, so the log can only be changed without trace by
rewriting every later row too::

    hash = sha256_hex(prev_hash + "\\n" + canonical_json([at, actor, action, subject, details]))

- ``prev_hash`` is the hash of the row before (in id order), or ``GENESIS`` for the first row.
- ``at`` is the event time in UTC, ``datetime.isoformat(timespec="microseconds")`` with the
  ``+00:00`` offset (whatever time zone the database hands it back in).
- ``details`` is the stored text exactly as written (itself canonical JSON of the caller's
  mapping), so changing even its spacing breaks the hash.
- ``canonical_json`` is ``json.dumps(value, sort_keys=True, separators=(",", ":"),
  ensure_ascii=False)`` and the hash input is encoded as UTF-8.

The autoincrement ``id`` is deliberately left out: the database assigns it after the hash is
known, and a rolled-back transaction leaves gaps in it. Order is carried by the links instead,
which makes every kind of tampering inside the chain visible to ``verify_chain``:

- an edited row no longer matches its own hash (or, if its hash was recomputed, the next row's
  ``prev_hash`` no longer matches it);
- a deleted, swapped or inserted row breaks the link of the row that now follows it;
- deleting the *last* rows leaves a shorter chain that is still intact, and so does a forger
  with write access who rewrites the whole tail. Only comparing with a head published
  elsewhere (``head()``, to be signed and published) detects those.
"""

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from identity import clock
from identity.audit.actions import ACTIONS
from identity.civil_id import mask, normalize_digits
from identity.models import AuditEvent

__all__ = [
    "GENESIS",
    "Entry",
    "VerifyResult",
    "compute_hash",
    "head",
    "mask_civil_ids",
    "record",
    "record_many",
    "subject_for_civil_id",
    "verify_chain",
]

GENESIS = "0" * 64

# One constant key for pg_advisory_xact_lock: the ASCII bytes of "HAWIYAAU" as a bigint.
ADVISORY_LOCK_KEY = int.from_bytes(b"HAWIYAAU", "big")

# Rows fetched per round trip by verify_chain; the table is streamed, never loaded whole.
VERIFY_BATCH = 1000

# Column widths in the audit_events table; checked here so both backends refuse alike.
_MAX_LENGTHS = {"actor": 120, "action": 64, "subject": 120}

# Detail keys that name secrets. A key is split into lower-case words ("apiKey", "api-key" and
# "API_KEY" all give ["api", "key"]); it is refused if any word is one of these.
_SECRET_WORDS = frozenset(
    {
        "code", "otp", "totp", "hotp", "pin", "password", "passwd", "pwd", "passphrase",
        "passcode", "secret", "token", "session", "sessionid", "cookie", "apikey", "key",
        "bearer", "authorization",
    }
)  # fmt: skip
# "key" is allowed only as the public name of a signing key ("key_id", "keyId").
_ALLOWED_KEY_PHRASES = frozenset({("key", "id")})
# Secret words glued together ("sessionid", "otpcode", "accesstoken", "apikey").
_SECRET_SUFFIXES = ("code", "otp", "password", "passwd", "secret", "token", "apikey", "sessionid")
_SECRET_PREFIXES = ("otp", "password", "passwd", "secret", "token", "session", "apikey")

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
# A run of exactly 12 digits that stands alone (not part of a longer number, a hex digest or a
# "+"-prefixed phone number): what a full civil ID looks like inside any text.
_FULL_CIVIL_ID = re.compile(r"(?<![0-9A-Za-z+])[0-9]{12}(?![0-9A-Za-z])")
# Detail keys whose values are what a person typed (a reason): a number in them that looks like
# a civil ID is masked rather than refused, so the change it explains is not refused with it.
_TYPED_TEXT_KEYS = frozenset({"reason"})


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of checking the chain: ``first_broken_id`` and ``reason`` when not ok."""

    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Entry:
    """One event for ``record_many``: what ``record`` takes, as one value."""

    actor: str
    action: str
    subject: str
    details: Mapping[str, Any] | None = None


# What json.dumps(value, sort_keys=True, ...) builds on every call, built once (it keeps no state).
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(value: Any) -> str:
    """Serialise a value one way only: sorted keys, no spaces, UTF-8 text, no NaN."""
    return _CANONICAL.encode(value)


def _utc_iso(at: datetime) -> str:
    """Return the chain's spelling of a time (identity.clock.audit_iso: it never changes)."""
    return clock.audit_iso(at)


def compute_hash(
    prev_hash: str, at: datetime, actor: str, action: str, subject: str, details: str
) -> str:
    """Return the hash of one row as defined in the module docstring."""
    payload = canonical_json([_utc_iso(at), actor, action, subject, details])
    return hashlib.sha256(f"{prev_hash}\n{payload}".encode()).hexdigest()


def subject_for_civil_id(civil_id: str) -> str:
    """Return the audit subject for a beneficiary, e.g. "beneficiary:********2596"."""
    return f"beneficiary:{mask(civil_id)}"


def _key_words(key: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(key)]


def _is_secret_key(key: str) -> bool:
    words = _key_words(key)
    for i, word in enumerate(words):
        if word in _SECRET_WORDS and tuple(words[i : i + 2]) not in _ALLOWED_KEY_PHRASES:
            return True
    glued = "".join(words)
    return glued.endswith(_SECRET_SUFFIXES) or glued.startswith(_SECRET_PREFIXES)


def mask_civil_ids(text: str) -> str:
    """Mask every run in a text that looks like a full civil ID to its last 4 digits.

    "Letter 202612010001" gives "Letter ********0001"; other digits (in any script) stay as typed.
    """
    # normalize_digits maps one character to one, so its match positions are the text's own.
    runs = list(_FULL_CIVIL_ID.finditer(normalize_digits(text)))
    for run in reversed(runs):
        text = text[: run.start()] + mask(run[0]) + text[run.end() :]
    return text


def _holds_full_civil_id(value: str) -> bool:
    return _FULL_CIVIL_ID.search(normalize_digits(value)) is not None


def _check_value(value: Any, where: str) -> None:
    # Walk every level: a secret or a full civil ID is refused however deeply it is nested.
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"audit detail keys must be text (in {where})")
            if _is_secret_key(key):
                raise ValueError(f"audit details must not hold secrets: key {key!r} refused")
            if _holds_full_civil_id(key):
                raise ValueError(f"audit details must not hold a full civil ID (a key in {where})")
            _check_value(item, f"{where}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_value(item, f"{where}[{index}]")
        return
    # A civil ID stored as a number is still a civil ID.
    scalar = str(abs(value)) if isinstance(value, int) and not isinstance(value, bool) else value
    if isinstance(scalar, str) and _holds_full_civil_id(scalar):
        raise ValueError(f"audit details must not hold a full civil ID ({where}); mask it")


def _check_field(name: str, value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"audit {name} must be non-empty text")
    if name == "action" and value not in ACTIONS:
        raise ValueError(f"audit action {value!r} is not in the registry (identity.audit.actions)")
    if len(value) > _MAX_LENGTHS[name]:
        raise ValueError(f"audit {name} is longer than {_MAX_LENGTHS[name]} characters")
    if _holds_full_civil_id(value):
        raise ValueError(f"audit {name} must not hold a full civil ID; use subject_for_civil_id()")


def _lock_chain(session: Session) -> None:
    """Serialise appenders so each reads the head only after the previous append committed."""
    dialect = session.connection().dialect.name
    if dialect == "postgresql":
        # Held until this transaction ends. Only READ COMMITTED takes a fresh snapshot per
        # statement, so only there does the next read of the head see the previous holder's row.
        isolation = session.execute(
            text("SELECT pg_advisory_xact_lock(:key), current_setting('transaction_isolation')"),
            {"key": ADVISORY_LOCK_KEY},
        ).one()[1]
        if isolation != "read committed":
            raise RuntimeError("audit.record needs a READ COMMITTED transaction on PostgreSQL")
    elif dialect == "sqlite":
        # SQLite allows one writer at a time, but Python's sqlite3 only opens a transaction at the
        # first write: two appenders could both read the same head and then write one after the
        # other, forking the chain. A no-op UPDATE takes the write lock (waiting out the busy
        # timeout) before the head is read.
        session.execute(text("UPDATE audit_events SET id = id WHERE 0 = 1"))
    else:
        raise RuntimeError(f"audit.record does not know how to lock on {dialect}")


def _checked_details(
    actor: str, action: str, subject: str, details: Mapping[str, Any] | None
) -> str:
    """Check one event's fields and details; return its details as the canonical text stored."""
    for name, value in (("actor", actor), ("action", action), ("subject", subject)):
        _check_field(name, value)
    return _details_text(details)


def _details_text(details: Mapping[str, Any] | None) -> str:
    """Check an event's details (masking typed text); return the canonical text stored."""
    details = {} if details is None else details
    if not isinstance(details, Mapping):
        raise ValueError("audit details must be a mapping")
    details = {
        key: mask_civil_ids(value) if key in _TYPED_TEXT_KEYS and isinstance(value, str) else value
        for key, value in details.items()
    }
    _check_value(details, "details")
    try:
        return canonical_json(dict(details))
    except TypeError as exc:
        raise ValueError(f"audit details must be JSON values: {exc}") from None


_SCALARS = frozenset({str, int, bool, type(None)})  # float left out: NaN is not equal to itself


def _checked_batch(entries: Sequence[Entry]) -> list[str]:
    """Check every entry as record does; return their details texts, in order.

    An import audits thousands of entries with one actor, one or two actions and a handful of
    distinct details, so each distinct value is checked once: the same value gives the same
    outcome. Details that are not plain JSON are checked entry by entry, to raise as record does.
    """
    passed: set[tuple[str, str]] = set()
    texts: dict[tuple[tuple[str, type, Any], ...], str] = {}
    checked = []
    for entry in entries:
        for name, value in (("actor", entry.actor), ("action", entry.action)):
            if not (isinstance(value, str) and (name, value) in passed):
                _check_field(name, value)
                passed.add((name, value))
        _check_field("subject", entry.subject)
        key = _flat_key(entry.details)
        if key is None:
            checked.append(_details_text(entry.details))
            continue
        if key not in texts:
            texts[key] = _details_text(entry.details)
        checked.append(texts[key])
    return checked


def _flat_key(details: Mapping[str, Any] | None) -> tuple[tuple[str, type, Any], ...] | None:
    """Return a key equal only for equal flat details (text keys, scalar values), else None."""
    if not isinstance(details, dict) or not all(
        isinstance(k, str) and type(v) in _SCALARS for k, v in details.items()
    ):
        return None
    return tuple(sorted((k, type(v), v) for k, v in details.items()))


def record(
    session: Session,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction; the caller commits it with its change.

    Raises ValueError for a detail key that names a secret (an OTP, code, password, token,
    session or key) and for a full civil ID anywhere: pass ``subject_for_civil_id(...)`` or
    ``civil_id.mask(...)`` instead. Only in what a person typed (a ``reason``) is such a number
    masked for them (``mask_civil_ids``).
    """
    details_text = _checked_details(actor, action, subject, details)
    _lock_chain(session)
    latest = head(session)
    prev_hash = latest[1] if latest else GENESIS
    at = clock.now()  # Python clocks carry microseconds, the precision both databases keep
    event = AuditEvent(
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        details=details_text,
        prev_hash=prev_hash,
        hash=compute_hash(prev_hash, at, actor, action, subject, details_text),
    )
    session.add(event)
    # Flush (never commit) so the id is known and a duplicate hash fails here, inside the
    # caller's transaction.
    session.flush()
    return event


def record_many(session: Session, entries: Sequence[Entry]) -> None:
    """Append events in order in the caller's transaction, as ``record`` would one by one.

    Each entry is checked as ``record`` checks it, and nothing is written if any is refused.
    The batch takes the chain's lock once, reads the head once and goes in as one bulk INSERT,
    so a 100,000-row import is not 100,000 round trips.
    """
    if not entries:
        return
    checked = zip(entries, _checked_batch(entries), strict=True)
    _lock_chain(session)
    latest = head(session)
    prev_hash = latest[1] if latest else GENESIS
    rows = []
    for entry, details_text in checked:
        at = clock.now()
        digest = compute_hash(prev_hash, at, entry.actor, entry.action, entry.subject, details_text)
        rows.append(
            {
                "at": at,
                "actor": entry.actor,
                "action": entry.action,
                "subject": entry.subject,
                "details": details_text,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    # One executemany: the ids follow the list's order, which is the order of the links.
    session.execute(insert(AuditEvent.__table__), rows)  # type: ignore[arg-type]


def head(session: Session) -> tuple[int, str] | None:
    """Return the id and hash of the latest event, or None when the log is empty."""
    row = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    return (row.id, row.hash) if row else None


def verify_chain(session: Session) -> VerifyResult:
    """Walk the log in id order, recompute every hash and check every link."""
    # Plain columns, not ORM objects: the stored values are checked even when the session
    # already holds some of these rows, and nothing piles up in the identity map.
    columns = select(
        AuditEvent.id,
        AuditEvent.at,
        AuditEvent.actor,
        AuditEvent.action,
        AuditEvent.subject,
        AuditEvent.details,
        AuditEvent.prev_hash,
        AuditEvent.hash,
    )
    stream = columns.order_by(AuditEvent.id).execution_options(yield_per=VERIFY_BATCH)
    expected_prev, previous_id, checked = GENESIS, None, 0
    with session.execute(stream) as rows:
        for row in rows:
            if row.prev_hash != expected_prev:
                after = f"entry {previous_id}" if previous_id is not None else "the log's start"
                reason = (
                    f"its previous hash does not match {after}"
                    " (a row before it was deleted, inserted or moved)"
                )
                return VerifyResult(False, checked, row.id, reason)
            actual = compute_hash(
                row.prev_hash, row.at, row.actor, row.action, row.subject, row.details
            )
            if row.hash != actual:
                reason = "its contents do not match its hash (it was edited)"
                return VerifyResult(False, checked, row.id, reason)
            expected_prev, previous_id, checked = row.hash, row.id, checked + 1
    return VerifyResult(True, checked)
