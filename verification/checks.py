"""Is this genuine and valid right now? One `check` behind every path; it reads the live register.

Every check of something of ours leaves a verification event, which the beneficiary can read
("who checked me"); every check at all is counted in the metrics.
"""

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import cast
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import Dialect, Table, bindparam, func, insert, select, true

from identity import clock, db, driver, metrics, signing
from identity.access.agencies import KnownAgency
from identity.digital_id import credentials
from identity.documents import documents
from identity.models import (
    Beneficiary,
    Credential,
    Document,
    VerificationEvent,
    standing,
    standing_in_sql,
)
from identity.register.beneficiaries import Record

VERDICTS = ("valid", "revoked", "suspended", "expired", "invalid", "not_found")
KINDS = ("id_card", "document")
CHANNELS = ("page", "scan", "api")
MAX_QR_TEXT = 4096
# The two things a code of ours holds, in a URL or bare: a phone ID token (a compact JWS: three
# base64url segments) or its dense form of digits (credentials.numeric: longer than any
# reference), or a document's reference. Nothing else is ours.
COMPACT_JWS = r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"
PHONE_TOKEN = f"{COMPACT_JWS}|[0-9]{{65,}}"
REFERENCE = r"[A-Za-z0-9_-]{16,64}"
BARE_TOKEN, BARE_REFERENCE = re.compile(PHONE_TOKEN), re.compile(REFERENCE)
# The path of one of our URLs under its base: nothing that can leave the /v/ or /d/ path.
OUR_PATH = re.compile(f"/v/({PHONE_TOKEN})|/d/({REFERENCE})")
FRAMING = " \t\r\n"  # what may surround a scanned code: trimmed, never inside
ASCII_FORBIDDEN = re.compile(r"[\x00-\x20\x7f]")  # controls, DEL and space
# The statements of every scan, built once with bind parameters and run straight on the driver
# (identity.driver): no ORM objects, identity map or flush on the hot path.
CREDENTIALS, HOLDERS = cast(Table, Credential.__table__), cast(Table, Beneficiary.__table__)
EVENTS = cast(Table, VerificationEvent.__table__)
CREDENTIAL_WITH_HOLDER = (
    select(CREDENTIALS.c.status, *(HOLDERS.c[f.name] for f in fields(Record)), HOLDERS.c.id)
    .join_from(CREDENTIALS, HOLDERS)
    .where(CREDENTIALS.c.id == bindparam("id"))
)
EVENT_COLUMNS = (
    "at", "kind", "subject_ref", "beneficiary_id", "agency_id", "channel", "purpose", "result",
)  # fmt: skip
_VALUES = {name: bindparam(name, type_=EVENTS.c[name].type) for name in EVENT_COLUMNS}
INSERT_EVENT = insert(EVENTS).values(_VALUES).returning(EVENTS.c.id)
# On PostgreSQL the event's transaction commits without waiting for its WAL to reach the disk
# (synchronous_commit off for this transaction only, set inside the INSERT: no extra round
# trip). A crash of the PostgreSQL server itself can lose the events of its last moments (at
# most 3 × wal_writer_delay, 0.6 s by default), never a status change: a check writes nothing
# else, and every other transaction keeps synchronous commit. README, "Speed".
_LAG = select(func.set_config("synchronous_commit", "off", True).label("lag")).cte("lag")
INSERT_EVENT_POSTGRES = (
    insert(EVENTS)
    .from_select(EVENT_COLUMNS, select(*_VALUES.values()).select_from(_LAG))
    .returning(EVENTS.c.id)
)


VERIFICATIONS = metrics.Counter(
    "hawiya_verifications_total",
    "Checks of IDs and documents (API, scanner and pages), by kind and verdict.",
    kind=KINDS,
    result=VERDICTS,
)
# The public pages are the only checks not stored (an agency's always are): their garbage.
UNRECORDED = metrics.Counter(
    "hawiya_verifications_unrecorded_total",
    "Public checks of nothing of ours (no signature of ours, no such document), not stored.",
    kind=KINDS,
)


@dataclass(frozen=True)
class Verifier:
    """Who is checking: an agency through the API, or anyone with a phone camera."""

    agency: KnownAgency | None
    channel: str


@dataclass(frozen=True)
class Recording:
    """Who is checking and why: what a verification event records besides the verdict."""

    verifier: Verifier
    purpose: str

    def event(
        self,
        at: datetime,
        kind: str,
        subject_ref: str | None,
        beneficiary_id: int | None = None,
        result: str | None = None,
    ) -> dict[str, object]:
        """Return the values of this check's event (EVENT_COLUMNS)."""
        agency = self.verifier.agency
        return {
            "at": at, "kind": kind, "subject_ref": subject_ref, "beneficiary_id": beneficiary_id,
            "agency_id": agency.id if agency else None, "channel": self.verifier.channel,
            "purpose": self.purpose, "result": result,
        }  # fmt: skip


@dataclass(frozen=True)
class Holder(Record):
    """The holder of a checked ID or document, as the register has them now: a record and an id."""

    id: int = field(kw_only=True)

    @classmethod
    def of(cls, person: Beneficiary) -> "Holder":
        """Return what a check tells of a beneficiary read through the ORM."""
        return cls(**{name: getattr(person, name) for name in HOLDER_COLUMNS})


HOLDER_COLUMNS = tuple(column.name for column in fields(Holder))


# On PostgreSQL a scanned ID is read, decided and recorded in one statement (one round trip, one
# snapshot): the credential and its holder, their standing decided in the database
# (`standing_in_sql`), and the event inserted from the same row. No row: nothing inserted, and
# the check records its not_found as any other verdict.
_FOUND = (
    select(
        standing_in_sql(CREDENTIALS.c.status, HOLDERS.c.status).label("result"),
        *(HOLDERS.c[name] for name in HOLDER_COLUMNS),
    )
    .join_from(CREDENTIALS, HOLDERS)
    .where(CREDENTIALS.c.id == bindparam("subject_ref"))
    .cte("found")
)
_FROM_FOUND = {"beneficiary_id": _FOUND.c.id, "result": _FOUND.c.result}
_RECORDED = (
    insert(EVENTS)
    .from_select(
        EVENT_COLUMNS,
        select(*(_FROM_FOUND.get(name, _VALUES[name]) for name in EVENT_COLUMNS))
        .select_from(_FOUND)
        .join(_LAG, true()),
    )
    .returning(EVENTS.c.id)
    .cte("recorded")
)
READ_AND_RECORD_POSTGRES = select(
    _FOUND.c.result, *(_FOUND.c[name] for name in HOLDER_COLUMNS), _RECORDED.c.id
).select_from(_FOUND.join(_RECORDED, true()))


@dataclass(frozen=True)
class Statements:
    """The statements of a check, compiled once for one database."""

    read: driver.Statement
    insert_event: driver.Statement
    read_and_record: driver.Statement | None  # PostgreSQL only

    @classmethod
    @functools.lru_cache(maxsize=16)
    def of(cls, dialect: Dialect) -> "Statements":
        """Return the statements compiled for this dialect (cached)."""
        postgres = dialect.name == "postgresql"
        return cls(
            driver.Statement.compile(CREDENTIAL_WITH_HOLDER, dialect),
            driver.Statement.compile(INSERT_EVENT_POSTGRES if postgres else INSERT_EVENT, dialect),
            driver.Statement.compile(READ_AND_RECORD_POSTGRES, dialect) if postgres else None,
        )


@dataclass(frozen=True)
class Verdict:
    """The answer to one check, with the live state it was read from."""

    result: str
    kind: str = "id_card"
    subject_ref: str | None = None
    checked_at: datetime = field(default_factory=lambda: clock.now())  # read when made
    document: Document | None = None
    beneficiary: Holder | None = None
    status_source: str = "live"
    event_id: int | None = None
    # Ours: a token with our signature (even expired) or a document in the register.
    genuine: bool = False


def scanned_text(text: object) -> str | None:
    """Return scanned text without the whitespace around it, or None when it cannot be ours.

    URL parsers drop tabs, CR and LF silently (WHATWG URL, `urlsplit`), so a text with one
    inside would verify as the genuine code: one spelling per code means refusing every
    control (C0, DEL, C1), format (bidi controls, zero-width), surrogate, private-use or
    unassigned character and all whitespace inside. What scanners and clipboards add around a
    code (spaces, a tab, CR, LF) is trimmed first.
    """
    if not isinstance(text, str) or len(text) > MAX_QR_TEXT:
        return None
    text = text.strip(FRAMING)
    if text.isascii():
        return None if ASCII_FORBIDDEN.search(text) else text
    if any(char.isspace() or unicodedata.category(char)[0] == "C" for char in text):
        return None
    return text


def _origin_and_prefix(url: str) -> tuple[str, str] | None:
    """Return (`scheme://host:port`, path without its trailing slash) of an http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname or "\\" in url or "@" in parts.netloc:
        return None
    port = port or (443 if scheme == "https" else 80)
    return f"{scheme}://{parts.hostname.lower()}:{port}", parts.path.rstrip("/")


@functools.lru_cache(maxsize=32)
def _base(url: str) -> tuple[str, str] | None:
    """Return _origin_and_prefix of a configured base URL, parsed once: it is on every check."""
    return _origin_and_prefix(url.strip())


def _under(cleaned: str, bases: Sequence[str]) -> tuple[str, str] | None:
    """Return (kind, value) of a cleaned URL with one of our paths under one of `bases`."""
    scanned = _origin_and_prefix(cleaned)
    if scanned is None:
        return None
    origin, path = scanned
    for base in bases:
        known = _base(base)
        if known is None or known[0] != origin or not path.startswith(known[1] + "/"):
            continue
        match = OUR_PATH.fullmatch(path[len(known[1]) :])
        if match:
            return ("id_card", match[1]) if match[1] else ("document", match[2])
    return None


def parse_qr(
    text: object, bases: Sequence[str], *, urls_only: bool = False
) -> tuple[str, str] | None:
    """Return (kind, token or reference) of scanned text, or None when it is not ours.

    The only parser of scanned text. A URL is ours only under one of `bases` (scheme, host, port
    and path; PUBLIC_URL first) with the path `/v/<token>` or `/d/<reference>`: a QR pointing
    anywhere else is not a Hawiya code, whatever its path says. Unless `urls_only`, a bare token
    or reference is ours too (typed, or pasted from an app).
    """
    cleaned = scanned_text(text)
    if cleaned is None:
        return None
    if cleaned[:8].lower().startswith(("http://", "https://")):
        return _under(cleaned, bases)
    if urls_only:
        return None
    if BARE_TOKEN.fullmatch(cleaned):
        return "id_card", cleaned
    if BARE_REFERENCE.fullmatch(cleaned):
        return "document", cleaned
    return None


def check_phone_token(token: str, recording: Recording | None = None) -> Verdict:
    """Check a phone ID token: our signature, not expired, and the live status in the register.

    With `recording` (who checks, and why), on PostgreSQL the lookup records the event in the
    same statement, and the verdict comes back with its event id (`record` then only counts).
    """
    try:
        claims = credentials.read_phone_token(token)
    except signing.TokenRejected as rejected:
        # Expiry is reported only once the signature has verified (signing.read): expired is ours.
        return Verdict(rejected.verdict, genuine=rejected.verdict == "expired")
    # One round trip for the credential and its holder: this is the hot path of every scan.
    credential_id = str(claims["sub"])[:32]
    with driver.transaction() as (cursor, dialect):
        statements = Statements.of(dialect)
        if recording is not None and statements.read_and_record is not None:
            at = clock.now()
            event = recording.event(at, "id_card", credential_id)
            found = cursor.one_or_none(statements.read_and_record, event)
            if found is not None:
                holder = Holder(**dict(zip(HOLDER_COLUMNS, found[1:-1], strict=True)))
                return Verdict(
                    found[0], subject_ref=credential_id, checked_at=at, beneficiary=holder,
                    event_id=int(found[-1]), genuine=True,
                )  # fmt: skip
        else:
            found = cursor.one_or_none(statements.read, {"id": credential_id})
            if found is not None:
                holder = Holder(**dict(zip(HOLDER_COLUMNS, found[1:], strict=True)))
                result = standing(found[0], holder.status)
                return Verdict(result, subject_ref=credential_id, beneficiary=holder, genuine=True)
    return Verdict("not_found", subject_ref=str(claims["sub"])[:64], genuine=True)


def check_document(reference: str) -> Verdict:
    """Check a document reference against the register: valid, or revoked (also when replaced)."""
    document = documents.by_reference(db.session(), reference)
    if document is None:
        return Verdict("not_found", kind="document", subject_ref=reference[:64])
    return document_verdict(document)


def document_verdict(document: Document) -> Verdict:
    """Return the live verdict on a document found by its reference or its number and code."""
    result = "valid" if document.status == "valid" else "revoked"
    return Verdict(
        result,
        kind="document",
        subject_ref=document.reference,
        document=document,
        beneficiary=Holder.of(document.beneficiary),
        genuine=True,
    )


def check(qr_text: object, verifier: Verifier, purpose: str) -> Verdict:
    """Check what a verifier scanned or typed, and record that they did."""
    parsed = parse_qr(qr_text, (current_app.config["PUBLIC_URL"],))
    if parsed is None:
        return record(Verdict("invalid"), verifier, purpose)
    with driver.transaction():  # one pooled connection for the lookup and the event
        if parsed[0] == "id_card":
            verdict = check_phone_token(parsed[1], Recording(verifier, purpose))
        else:
            verdict = check_document(parsed[1])
        return record(verdict, verifier, purpose)


def record(verdict: Verdict, verifier: Verifier, purpose: str) -> Verdict:
    """Store the verification event of a verdict and return the verdict with its event id.

    An agency is authenticated and accountable, so each of its checks is stored, garbage too.
    A public check is stored only when it names something of ours (`genuine`); any other is
    only counted, so nobody can fill the database from outside with made-up references. A
    verdict recorded by its lookup already (`event_id`) is only counted.
    """
    if verdict.event_id is None:
        if verifier.agency is not None or verdict.genuine:
            verdict = _stored(verdict, Recording(verifier, purpose))
        else:
            UNRECORDED.inc(kind=verdict.kind)
    VERIFICATIONS.inc(kind=verdict.kind, result=verdict.result)
    return verdict


def _stored(verdict: Verdict, recording: Recording) -> Verdict:
    """Insert the verdict's event; return the verdict with its event id."""
    holder = verdict.beneficiary
    event = recording.event(
        verdict.checked_at, verdict.kind, verdict.subject_ref, holder.id if holder else None,
        verdict.result,
    )  # fmt: skip
    with driver.transaction() as (cursor, dialect):  # committed before the answer is built
        row = cursor.one_or_none(Statements.of(dialect).insert_event, event)
    assert row is not None  # INSERT … RETURNING
    return Verdict(**{**verdict.__dict__, "event_id": int(row[0])})
