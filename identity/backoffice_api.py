"""The back-office API for the agency's own systems: documents (and, later, the register)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for
from sqlalchemy.orm import Session

from identity import civil_id, db, documents, stamp, tokens
from identity.beneficiaries import find
from identity.errors import ApiError, NotFound, Unauthorized, ValidationFailed
from identity.holder_api import UnsupportedMediaType, bearer_token, json_body
from identity.models import ApiToken, Document

bp = Blueprint("backoffice_api", __name__, url_prefix="/api/v1")


class Conflict(ApiError):
    status, code = 409, "conflict"


class PdfRejected(ApiError):
    """A refused upload: its status and code come from the check that refused it."""

    def __init__(self, refused: stamp.PdfRefused) -> None:
        super().__init__(refused.message)
        self.code = refused.code
        self.status = {"pdf-too-large": 413, "not-a-pdf": 415}.get(refused.code, 400)


@contextmanager
def refused_as_api_error(session: Session) -> Iterator[None]:
    """Turn a refused document change into 400 (bad input) or 409 (wrong state), writing nothing."""
    try:
        yield
    except documents.InvalidDocument as invalid:
        session.rollback()
        error = Conflict if invalid.code == "conflict" else ValidationFailed
        raise error(invalid.message) from None


def require_backoffice() -> ApiToken:
    """Return the back-office token of the request, or refuse with 401."""
    token = tokens.authenticate(db.session(), bearer_token(), "backoffice")
    if token is None:
        raise Unauthorized("A valid back-office token is required: Authorization: Bearer <token>.")
    return token


def actor(token: ApiToken) -> str:
    return f"backoffice:{token.id}"


def document_json(document: Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "reference": document.reference,
        "number": document.number,
        "type": document.type,
        "title": document.title,
        "office": document.office,
        "issued_at": document.issued_at.isoformat(timespec="seconds"),
        "status": document.status,
        "reason": document.reason,
        "superseded_by": document.superseded_by_id,
        "sha256": document.sha256,
        "url": documents.url(document),
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
    try:
        issued = documents.issue(
            session, data, person, request.form.get("type", ""),
            request.form.get("title", ""), request.form.get("office", ""), actor(token),
        )  # fmt: skip
    except stamp.PdfRefused as refused:
        session.rollback()
        raise PdfRejected(refused) from None
    except documents.InvalidDocument as invalid:
        session.rollback()
        raise ValidationFailed(invalid.message) from None
    session.commit()
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


def pdf_response(document: Document) -> Response:
    """Answer with a document's stamped PDF as a download."""
    response = Response(documents.pdf(db.session(), document), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{document.number}.pdf"'
    return response


@bp.post("/documents/<int:document_id>/revoke")
def revoke_document(document_id: int) -> Response:
    """Revoke a document with a reason."""
    token = require_backoffice()
    body = json_body()
    session = db.session()
    document = find_document(document_id)
    with refused_as_api_error(session):
        documents.revoke(session, document, body.get("reason"), actor(token))
    session.commit()
    return jsonify(document_json(document))


@bp.post("/documents/<int:document_id>/supersede")
def supersede_document(document_id: int) -> Response:
    """Mark a document as replaced by another (`by`: the new document's id), with a reason."""
    token = require_backoffice()
    body = json_body()
    by = body.get("by")
    if isinstance(by, str) and by.isdigit():
        by = int(by)
    if not isinstance(by, int) or isinstance(by, bool):
        raise ValidationFailed("Give the replacing document's id in 'by'.")
    session = db.session()
    document, replacement = find_document(document_id), find_document(by)
    with refused_as_api_error(session):
        documents.supersede(session, document, replacement, body.get("reason"), actor(token))
    session.commit()
    return jsonify(document_json(document))
