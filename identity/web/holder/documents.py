"""The beneficiary's documents: the list, and the stamped PDFs to download."""

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, url_for

from identity import db
from identity.documents import documents
from identity.errors import NotFound
from identity.models import Document
from identity.web.gates import require_holder
from identity.web.holder.guards import current_holder, signed_in
from identity.web.http import pdf_response

bp = Blueprint("holder_documents", __name__)


def own_document(beneficiary_id: int, document_id: int) -> Document:
    """Return the document only if it belongs to this beneficiary (else 404, not 403)."""
    document = db.session().get(Document, document_id)
    if document is None or document.beneficiary_id != beneficiary_id:
        raise NotFound("No such document.")
    return document


def as_json(document: Document) -> dict[str, Any]:
    """Return one of my documents for the app, with the address of its PDF."""
    return {
        **documents.as_json(document, documents.SUMMARY),
        "pdf_url": url_for("holder_documents.api_pdf", document_id=document.id),
    }


@bp.get("/me/documents")
@signed_in
def page() -> str:
    """List my documents with their live status."""
    holder = current_holder()
    assert holder is not None
    found = documents.for_beneficiary(db.session(), holder.beneficiary_id)
    return render_template("holder/my_documents.html", documents=found)


@bp.get("/me/documents/<int:document_id>.pdf")
@signed_in
def download(document_id: int) -> Response:
    """Download one of my stamped PDFs."""
    holder = current_holder()
    assert holder is not None
    return pdf_response(own_document(holder.beneficiary_id, document_id))


@bp.get("/api/v1/me/documents")
def api_list() -> Response:
    """Give the app my documents."""
    holder = require_holder()
    found = documents.for_beneficiary(db.session(), holder.beneficiary_id)
    return jsonify({"documents": [as_json(d) for d in found]})


@bp.get("/api/v1/me/documents/<int:document_id>/pdf")
def api_pdf(document_id: int) -> Response:
    """Give the app one of my stamped PDFs."""
    holder = require_holder()
    return pdf_response(own_document(holder.beneficiary_id, document_id))
