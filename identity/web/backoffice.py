"""The back-office API for the agency's own systems: the register, digital IDs and documents.

A refused change (a bad PDF, a document or digital ID in the wrong state) is raised on to
identity.web.refusals, which answers it with its code's status; the request writes nothing.
"""

from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from identity import civil_id, db
from identity.clock import api_time
from identity.digital_id import credentials
from identity.documents import documents, stamp
from identity.errors import NotFound, ValidationFailed
from identity.models import ApiToken, Beneficiary, Credential, Document
from identity.register.beneficiaries import InvalidRecord, find, save, validate
from identity.web import inputs
from identity.web.gates import require_backoffice
from identity.web.http import UnsupportedMediaType, json_body, pdf_response

bp = Blueprint("backoffice_api", __name__, url_prefix="/api/v1")


def actor(token: ApiToken) -> str:
    return f"backoffice:{token.id}"


# The back office's own record of a document: its summary, reference, reason and file hash.
DOCUMENT_DISCLOSED = (*documents.SUMMARY, "reference", "reason", "superseded_by_id", "sha256")


def document_json(document: Document) -> dict[str, Any]:
    """Return a document's record for the back office, with the address of its PDF."""
    return {
        **documents.as_json(document, DOCUMENT_DISCLOSED),
        "pdf_url": url_for("backoffice_api.document_pdf", document_id=document.id),
    }


def find_document(document_id: int) -> Document:
    document = db.session().get(Document, document_id)
    if document is None:
        raise NotFound("No document with this id.")
    return document


@bp.post("/documents")
def issue_document() -> tuple[Response, int]:
    """Stamp and register an uploaded PDF for a beneficiary; answer with its record and code."""
    token = require_backoffice()
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("Send multipart/form-data with the PDF in 'file'.")
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed("Attach the PDF as 'file'.")
    try:
        canonical = civil_id.parse(request.form.get("civil_id", ""))
    except civil_id.InvalidCivilId as exc:
        raise ValidationFailed(exc.reason) from None
    session = db.session()
    person = find(session, canonical)
    if person is None:
        raise NotFound("No beneficiary with this civil ID.")
    data = upload.read(stamp.MAX_BYTES + 1)
    # A refused file or field (stamp.PdfRefused, documents.InvalidDocument) answers by its code.
    issued = documents.issue(
        session, data, person, request.form.get("type", ""),
        request.form.get("title", ""), request.form.get("office", ""), actor(token),
    )  # fmt: skip
    return jsonify({**document_json(issued.document), "code": issued.code}), 201


@bp.get("/documents/<int:document_id>")
def get_document(document_id: int) -> Response:
    """Return a document's record and live status."""
    require_backoffice()
    return jsonify(document_json(find_document(document_id)))


@bp.get("/documents/<int:document_id>/pdf")
def document_pdf(document_id: int) -> Response:
    """Return the stamped PDF."""
    require_backoffice()
    document = find_document(document_id)
    return pdf_response(document)


@bp.post("/documents/<int:document_id>/revoke")
def revoke_document(document_id: int) -> Response:
    """Revoke a document with a reason."""
    token = require_backoffice()
    body = json_body()
    session = db.session()
    document = find_document(document_id)
    documents.revoke(session, document, body.get("reason"), actor(token))
    return jsonify(document_json(document))


def replacing_id(value: object) -> int:
    """Return the `by` of a supersede: an id as a JSON integer or ASCII digits, else refuse."""
    if (
        isinstance(value, str)
        and value.isascii()
        and value.isdigit()
        and len(value) <= inputs.MAX_ID_DIGITS
    ):
        value = int(value)  # only ASCII digits: str.isdigit() alone accepts "²", int() does not
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= inputs.MAX_ID:
        raise ValidationFailed("Give the replacing document's id in 'by'.")
    return value


@bp.post("/documents/<int:document_id>/supersede")
def supersede_document(document_id: int) -> Response:
    """Mark a document as replaced by another (`by`: the new document's id), with a reason."""
    token = require_backoffice()
    body = json_body()
    by = replacing_id(body.get("by"))
    session = db.session()
    document, replacement = find_document(document_id), find_document(by)
    documents.supersede(session, document, replacement, body.get("reason"), actor(token))
    return jsonify(document_json(document))


def beneficiary_json(person: Beneficiary) -> dict[str, Any]:
    session = db.session()
    credential = credentials.current(session, person.id)
    return {
        "civil_id": person.civil_id,
        "file_number": person.file_number,
        "full_name_ar": person.full_name_ar,
        "full_name_en": person.full_name_en,
        "phone": person.phone,
        "status": person.status,
        "category": person.category,
        "updated_at": api_time(person.updated_at),
        "credential": {"id": credential.id, "status": credential.status} if credential else None,
        "documents": [
            {"id": d.id, "number": d.number, "status": d.status}
            for d in documents.for_beneficiary(session, person.id)
        ],
    }


def path_civil_id(raw: str) -> str:
    try:
        return civil_id.parse(raw)
    except civil_id.InvalidCivilId as exc:
        raise ValidationFailed(exc.reason[0].upper() + exc.reason[1:] + ".") from None


@bp.get("/beneficiaries/<raw_civil_id>")
def get_beneficiary(raw_civil_id: str) -> Response:
    """Return a beneficiary with their digital ID and documents."""
    require_backoffice()
    person = find(db.session(), path_civil_id(raw_civil_id))
    if person is None:
        raise NotFound("No beneficiary with this civil ID.")
    return jsonify(beneficiary_json(person))


@bp.put("/beneficiaries/<raw_civil_id>")
def put_beneficiary(raw_civil_id: str) -> tuple[Response, int]:
    """Create or update a beneficiary, validated like the import; a new phone is told to the old."""
    token = require_backoffice()
    canonical = path_civil_id(raw_civil_id)
    body = json_body()
    raw = {key: value for key, value in body.items() if isinstance(value, str)}
    wrong_types = sorted(k for k, v in body.items() if not isinstance(v, str) and v is not None)
    if wrong_types:
        raise ValidationFailed(f"These fields must be text: {', '.join(wrong_types)}.")
    try:
        record = validate({**raw, "civil_id": canonical})
    except InvalidRecord as invalid:
        raise ValidationFailed("; ".join(invalid.reasons) + ".") from None
    session = db.session()
    saved = save(session, [record], with_category="category" in raw, actor=actor(token))
    person = find(session, canonical)
    assert person is not None
    return jsonify(beneficiary_json(person)), 201 if saved.created else 200


def find_credential(credential_id: str) -> Credential:
    credential = credentials.by_id(db.session(), credential_id)
    if credential is None:
        raise NotFound("No digital ID with this id.")
    return credential


@bp.post("/credentials/<credential_id>/<any(revoke, suspend, reinstate):action>")
def change_credential(credential_id: str, action: str) -> Response:
    """Revoke, suspend or reinstate a digital ID with a reason; in force at once everywhere."""
    token = require_backoffice()
    body = json_body()
    session = db.session()
    credential = find_credential(credential_id)
    credentials.change_status(session, credential, action, body.get("reason"), actor(token))
    return jsonify({"id": credential.id, "status": credential.status, "reason": credential.reason})
