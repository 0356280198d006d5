"""The agency API: `POST /api/v1/verify`, answered from the live register with a signed receipt."""

import hmac
import re
from typing import Any

from flask import Blueprint, Response, jsonify

from identity.access.agencies import KnownAgency
from identity.clock import api_time
from identity.documents import documents
from identity.errors import BadRequest
from identity.register import fields
from identity.web.gates import require_agency
from identity.web.http import json_body
from verification import receipts
from verification.checks import Holder, Verdict, Verifier, check

bp = Blueprint("agency_api", __name__, url_prefix="/api/v1")

DISCLOSED = ("valid", "revoked", "suspended")  # verdicts for which the subject is known and live
SHA256 = re.compile(r"[0-9a-fA-F]{64}")
# What an agency reads of a document it checked: no id, reference or address of ours.
DOCUMENT_DISCLOSED = (
    "number", "type", "title", "office", "issued_at", "status", "reason",
    "superseded_by_number", "sha256",
)  # fmt: skip


def subject(person: Holder, scopes: tuple[str, ...]) -> dict[str, Any]:
    """Return only the attributes of the person that the agency's scope names."""
    values: dict[str, Any] = {
        "name": {"ar": person.full_name_ar, "en": person.full_name_en},
        "civil_id": person.civil_id,
        "file_number": person.file_number,
        "phone": person.phone,
        "status": person.status,
        "category": person.category,
    }
    return {name: values[name] for name in scopes}


def document(verdict: Verdict, sha256: str | None) -> dict[str, Any]:
    """Describe a found document; compare the agency's file hash with ours when it sends one."""
    found = verdict.document
    assert found is not None
    described = documents.as_json(found, DOCUMENT_DISCLOSED)
    if sha256 is not None:
        described["hash_matches"] = hmac.compare_digest(sha256.lower(), found.sha256)
    return described


def answer(
    verdict: Verdict, agency: KnownAgency, purpose: str, sha256: str | None
) -> dict[str, Any]:
    """Build the API answer of a verdict, disclosing the agency's scope and nothing more."""
    person = verdict.beneficiary if verdict.result in DISCLOSED else None
    body: dict[str, Any] = {
        "result": verdict.result,
        "kind": verdict.kind,
        "checked_at": api_time(verdict.checked_at),
        "status_source": verdict.status_source,
        "subject": subject(person, agency.scopes) if person else {},
    }
    if verdict.document is not None:
        body["document"] = document(verdict, sha256)
    body["receipt"] = receipts.issue(verdict, agency, purpose)
    return body


@bp.post("/verify")
def verify() -> Response:
    """Check a scanned QR (a URL or a bare token) for an agency, for a stated purpose."""
    agency = require_agency()
    body = json_body()
    qr_text, purpose = body.get("qr"), body.get("purpose")
    if not isinstance(qr_text, str) or not qr_text.strip():
        raise BadRequest("Send the scanned text as a string in 'qr'.")
    try:
        purpose = fields.free_text("purpose", "purpose", purpose, 1, 200)
    except fields.InvalidField as invalid:
        raise BadRequest(f"Say why you are checking in 'purpose': {invalid.reason}.") from None
    sha256 = body.get("sha256")
    if sha256 is not None and not (isinstance(sha256, str) and SHA256.fullmatch(sha256)):
        raise BadRequest("'sha256' must be the 64 hexadecimal digits of the file's SHA-256.")
    verdict = check(qr_text, Verifier(agency, "api"), purpose)
    return jsonify(answer(verdict, agency, purpose, sha256))
