"""Is this genuine and valid right now? One `check` behind every path; it reads the live register.

Every check leaves a verification event, which the beneficiary can read ("who checked me").
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import bindparam, insert, select

from identity import credentials, db, documents, metrics, signing
from identity.models import Agency, Beneficiary, Credential, Document, VerificationEvent

VERDICTS = ("valid", "revoked", "suspended", "expired", "invalid", "not_found")
KINDS = ("id_card", "document")
CHANNELS = ("page", "scan", "api")
MAX_QR_TEXT = 4096
PUBLIC_PURPOSE = "public"
# What a beneficiary's own status in the register means for their ID.
BENEFICIARY_VERDICT = {"suspended": "suspended", "inactive": "suspended", "deceased": "revoked"}
REFERENCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
# The statements of every scan, built once with bind parameters: building a statement costs
# about as much as running it here (bench/verify_bench.py).
CREDENTIAL_WITH_HOLDER = (
    select(Credential, Beneficiary)
    .join(Beneficiary, Beneficiary.id == Credential.beneficiary_id)
    .where(Credential.id == bindparam("id"))
)
# A Core insert: no unit-of-work bookkeeping on the hot path.
INSERT_EVENT = insert(VerificationEvent).returning(VerificationEvent.id)
VERIFICATIONS = metrics.Counter(
    "hawiya_verifications_total",
    "Checks of IDs and documents (API, scanner and pages), by kind and verdict.",
    kind=KINDS,
    result=VERDICTS,
)


@dataclass(frozen=True)
class Verifier:
    """Who is checking: an agency through the API, or anyone with a phone camera."""

    agency: Agency | None
    channel: str


@dataclass(frozen=True)
class Verdict:
    """The answer to one check, with the live state it was read from."""

    result: str
    kind: str = "id_card"
    subject_ref: str | None = None
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    credential: Credential | None = None
    document: Document | None = None
    beneficiary: Beneficiary | None = None
    status_source: str = "live"
    event_id: int | None = None


def parse_qr(text: object) -> tuple[str, str] | None:
    """Return (kind, token or reference) from a scanned text: one of our URLs or a bare value."""
    if not isinstance(text, str) or len(text) > MAX_QR_TEXT:
        return None
    text = text.strip()
    if text.startswith(("http://", "https://")):
        path = urlsplit(text).path
        for prefix, kind in (("/v/", "id_card"), ("/d/", "document")):
            if path.startswith(prefix) and len(path) > len(prefix):
                return kind, path[len(prefix) :]
        return None
    if text.count(".") == 2:
        return "id_card", text
    if REFERENCE.fullmatch(text):
        return "document", text
    return None


def check_phone_token(token: str) -> Verdict:
    """Check a phone ID token: our signature, not expired, and the live status in the register."""
    try:
        claims = credentials.read_phone_token(token)
    except signing.TokenRejected as rejected:
        return Verdict(rejected.verdict)
    # One round trip for the credential and its holder: this is the hot path of every scan.
    found = (
        db.session().execute(CREDENTIAL_WITH_HOLDER, {"id": str(claims["sub"])[:32]}).one_or_none()
    )
    if found is None:
        return Verdict("not_found", subject_ref=str(claims["sub"])[:64])
    credential, person = found
    if credential.status == "revoked":
        result = "revoked"
    elif person.status in BENEFICIARY_VERDICT:
        result = BENEFICIARY_VERDICT[person.status]
    elif credential.status == "suspended":
        result = "suspended"
    else:
        result = "valid"
    return Verdict(result, subject_ref=credential.id, credential=credential, beneficiary=person)


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
        beneficiary=document.beneficiary,
    )


def check(qr_text: object, verifier: Verifier, purpose: str) -> Verdict:
    """Check what a verifier scanned or typed, and record that they did."""
    parsed = parse_qr(qr_text)
    if parsed is None:
        verdict = Verdict("invalid")
    elif parsed[0] == "id_card":
        verdict = check_phone_token(parsed[1])
    else:
        verdict = check_document(parsed[1])
    return record(verdict, verifier, purpose)


def record(verdict: Verdict, verifier: Verifier, purpose: str) -> Verdict:
    """Store the verification event of a verdict and return the verdict with its event id."""
    session = db.session()
    event = {
        "at": verdict.checked_at,
        "kind": verdict.kind,
        "subject_ref": verdict.subject_ref,
        "beneficiary_id": verdict.beneficiary.id if verdict.beneficiary else None,
        "agency_id": verifier.agency.id if verifier.agency else None,
        "channel": verifier.channel,
        "purpose": purpose,
        "result": verdict.result,
    }
    event_id = session.execute(INSERT_EVENT, event).scalar_one()
    session.commit()
    VERIFICATIONS.inc(kind=verdict.kind, result=verdict.result)
    return Verdict(**{**verdict.__dict__, "event_id": event_id})
