"""Documents: issue a stamped PDF, find it by reference or by number and code, revoke, supersede.

The QR carries `<PUBLIC_URL>/d/<reference>` (128 random bits); people may instead type the
printed number and the short code. The code is kept hashed, like a password.
"""

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from identity import clock, db
from identity.audit import chain
from identity.civil_id import normalize_digits
from identity.clock import api_time
from identity.documents import document_types, stamp
from identity.errors import Refused
from identity.models import Beneficiary, Document, DocumentFile, utcnow
from identity.register import fields

REFERENCE_BYTES = 16  # 128 bits
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: easy to read and type
CODE_LENGTH = 8  # about 40 bits; guessing is also rate limited
REASONS_MAX = 200
NUMBER_KEY = re.compile(r"HW([0-9]{4})([0-9]{6,18})")  # a printed number, normalised


class InvalidDocument(Refused):
    """A document request that cannot be honoured; `code` is kebab-case, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


@dataclass(frozen=True)
class Issued:
    """A new document and its printed code (shown once, then only the hash is kept)."""

    document: Document
    code: str


def code_digest(reference: str, code: str) -> str:
    """Return the stored form of a verification code."""
    return hashlib.sha256(f"{reference}:{code}".encode()).hexdigest()


def _compact(raw: str) -> str:
    """Return typed text in one spelling: NFKC, ASCII digits, upper case, no space or dash.

    Every Unicode whitespace (a tab, NBSP, an ideographic space), dash and invisible format
    character goes, so that no spelling of a number or a code is a new one.
    """
    text = normalize_digits(unicodedata.normalize("NFKC", raw)).upper()
    return "".join(char for char in text if not _separator(char))


def _separator(char: str) -> bool:
    return char.isspace() or char == "\N{MINUS SIGN}" or unicodedata.category(char) in ("Pd", "Cf")


def normalize_code(raw: str) -> str:
    """Return a typed code as stored: digits in ASCII, upper case, no spaces or dashes."""
    return _compact(raw)


def normalize_number(raw: str) -> str:
    """Return a typed document number in its one spelling, the key of its lookup and its limit.

    `HW-2026-000042`, `hw 2026 000042` and `ＨＷ\t2026–000042` all give `HW2026000042`.
    """
    return _compact(raw)


def printed_number(key: str) -> str | None:
    """Return the printed number (`HW-2026-000042`) of a normalised one, or None if none can be."""
    match = NUMBER_KEY.fullmatch(key)
    return f"HW-{match[1]}-{match[2]}" if match else None


def url(document: Document) -> str:
    """Return the address in the document's QR."""
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/d/{document.reference}"


def _superseded_by_number(document: Document) -> str | None:
    """Return the printed number of the document that replaced this one, if any."""
    return document.superseded_by.number if document.superseded_by else None


# What a document can tell of itself, by the name a caller discloses it under: its JSON key and
# how it is read. Callers list the names they may disclose; nothing else (the code's hash, the
# issuer) can leave by accident.
FIELDS: dict[str, tuple[str, Callable[[Document], Any]]] = {
    "id": ("id", attrgetter("id")),
    "number": ("number", attrgetter("number")),
    "type": ("type", attrgetter("type")),
    "title": ("title", attrgetter("title")),
    "office": ("office", attrgetter("office")),
    "issued_at": ("issued_at", lambda document: api_time(document.issued_at)),
    "status": ("status", attrgetter("status")),
    "url": ("url", url),
    "reference": ("reference", attrgetter("reference")),
    "reason": ("reason", attrgetter("reason")),
    "superseded_by_id": ("superseded_by", attrgetter("superseded_by_id")),
    "superseded_by_number": ("superseded_by", _superseded_by_number),
    "sha256": ("sha256", attrgetter("sha256")),
}
# What anyone entitled to see a document reads of it (the holder; the back office adds more).
SUMMARY = ("id", "number", "type", "title", "office", "issued_at", "status", "url")


def as_json(document: Document, disclosed: tuple[str, ...]) -> dict[str, Any]:
    """Return these fields of a document (names of FIELDS), in this order, as JSON values."""
    described: dict[str, Any] = {}
    for name in disclosed:
        key, read = FIELDS[name]
        described[key] = read(document)
    return described


def _number(document_id: int, when: datetime) -> str:
    """Return the printed document number, e.g. HW-2026-000042 (from the row id: no races).

    printed_number reads this format back from a typed number: change both together.
    """
    return f"HW-{clock.local(when):%Y}-{document_id:06d}"  # the year of its local date


def issue(
    session: Session,
    pdf: bytes,
    beneficiary: Beneficiary,
    doc_type: str,
    title: str,
    office: str,
    actor: str,
) -> Issued:
    """Stamp a PDF and register it, in the caller's transaction, audited.

    Raises stamp.PdfRefused for a bad file and InvalidDocument for bad fields.
    """
    if document_types.get(session, doc_type) is None:
        keys = ", ".join(found.key for found in document_types.list_types(session))
        raise InvalidDocument(
            "invalid-input",
            f"type must be one of the keys listed at GET /api/v1/document-types: {keys}.",
        )
    try:
        title = fields.free_text("title", "title", title, 2, 200)
        office = fields.free_text("office", "office", office, 2, 120)
    except fields.InvalidField as invalid:
        raise InvalidDocument("invalid-input", fields.sentence(invalid)) from None
    stamp.check(pdf)
    now = utcnow()
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    reference = secrets.token_urlsafe(REFERENCE_BYTES)
    document = Document(
        reference=reference,
        number=reference[:24],  # a unique placeholder until the row has its id
        code_hash=code_digest(reference, code),
        type=doc_type,
        title=title,
        beneficiary_id=beneficiary.id,
        office=office,
        issued_at=now,
        issued_by=actor,
        sha256="",
        status="valid",
        changed_by=actor,
        changed_at=now,
    )
    session.add(document)
    session.flush()
    document.number = _number(document.id, now)
    stamped = stamp.stamp(
        pdf,
        url=url(document),
        number=document.number,
        code=printed(code),
        issued_on=clock.date_text(now),  # the local date, as its verdict page shows it
        office_ar=office,
        office_en=office,
    )
    document.sha256 = hashlib.sha256(stamped).hexdigest()
    session.add(DocumentFile(document_id=document.id, pdf=stamped))
    chain.record(
        session, actor, "document.issue", f"document:{document.number}", {"type": doc_type}
    )
    return Issued(document, printed(code))


def printed(code: str) -> str:
    """Return a code as printed: two groups of four."""
    return f"{code[:4]}-{code[4:]}"


def by_reference(session: Session, reference: str) -> Document | None:
    """Return the document with this QR reference."""
    if not isinstance(reference, str) or len(reference) > 32:
        return None
    return session.scalar(select(Document).where(Document.reference == reference))


def by_number_and_code(session: Session, number: str, code: str) -> Document | None:
    """Return the document with this printed number (any spelling of it), if the code matches."""
    printed_as = printed_number(normalize_number(number))
    if printed_as is None:
        return None
    document = session.scalar(select(Document).where(Document.number == printed_as))
    wanted = code_digest(document.reference if document else "x", normalize_code(code)[:16])
    if document is None or not hmac.compare_digest(document.code_hash, wanted):
        return None
    return document


def pdf(session: Session, document: Document) -> bytes:
    """Return the stamped PDF of a document."""
    stored = session.get(DocumentFile, document.id)
    assert stored is not None
    return stored.pdf


def _reason(reason: object) -> str:
    try:
        return fields.free_text("reason", "reason", reason, 3, REASONS_MAX)
    except fields.InvalidField as invalid:
        raise InvalidDocument("invalid-input", fields.sentence(invalid)) from None


def revoke(session: Session, document: Document, reason: object, actor: str) -> None:
    """Revoke a valid document, with its reason, audited in the same transaction.

    A compare-and-set on its status: of two changes racing (two revokes, a revoke and a
    supersede) exactly one wins, the other is refused as a conflict.
    """
    text = _reason(reason)
    _change_valid(session, document, {"status": "revoked", "reason": text}, actor)
    chain.record(
        session, actor, "document.revoke", f"document:{document.number}",
        {"from": "valid", "to": "revoked", "reason": text},
    )  # fmt: skip


def supersede(
    session: Session, document: Document, replacement: Document, reason: object, actor: str
) -> None:
    """Mark a document as replaced by another valid one of the same beneficiary, audited.

    Both rows are locked (in id order, so two supersedes of each other cannot deadlock) and the
    document's status changes by compare-and-set, so a racing revoke of either is never lost.
    """
    text = _reason(reason)
    if document.id == replacement.id:
        raise InvalidDocument("invalid-input", "A document cannot replace itself.")
    if replacement.beneficiary_id != document.beneficiary_id:
        raise InvalidDocument("invalid-input", "The replacement belongs to someone else.")
    _lock(session, document.id, replacement.id)
    change = {"status": "superseded", "reason": text, "superseded_by_id": replacement.id}
    _change_valid(session, document, change, actor)
    # Read afresh: locked on PostgreSQL, and under SQLite's write lock since the change above.
    if session.scalar(select(Document.status).where(Document.id == replacement.id)) != "valid":
        raise InvalidDocument("conflict", "Both documents must be valid.")
    chain.record(
        session, actor, "document.supersede", f"document:{document.number}",
        {"from": "valid", "to": "superseded", "by": replacement.number, "reason": text},
    )  # fmt: skip


def _lock(session: Session, *document_ids: int) -> None:
    """Lock these documents' rows until the transaction ends (PostgreSQL; SQLite has one writer)."""
    ordered = select(Document.id).where(Document.id.in_(document_ids)).order_by(Document.id)
    session.execute(ordered.with_for_update())


def _change_valid(
    session: Session, document: Document, change: dict[str, object], actor: str
) -> None:
    """Apply a change to a document only while it is still valid; refuse it as a conflict."""
    stamped = {**change, "changed_by": actor, "changed_at": utcnow()}
    if document.status != "valid" or not db.compare_and_set(
        session, document, {"status": "valid"}, stamped
    ):
        session.expire(document)  # read the status that won, for the message
        raise InvalidDocument("conflict", f"The document is {document.status} already.")


def for_beneficiary(session: Session, beneficiary_id: int) -> list[Document]:
    """Return a beneficiary's documents, newest first."""
    query = (
        select(Document)
        .where(Document.beneficiary_id == beneficiary_id)
        .order_by(Document.id.desc())
    )
    return list(session.scalars(query))
