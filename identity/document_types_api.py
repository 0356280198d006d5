"""`GET /api/v1/document-types`: the keys a document's `type` may take, with their labels.

Public on purpose: the labels are the agency's vocabulary, not anyone's data, and every
integrator (a back-office system, an agency reading a verdict) needs them before its first call.
"""

from flask import Blueprint, Response, jsonify

from identity import db, document_types

bp = Blueprint("document_types_api", __name__, url_prefix="/api/v1")


@bp.get("/document-types")
def listing() -> Response:
    """List the active document types."""
    found = document_types.list_types(db.session())
    return jsonify({"document_types": [labels.as_json() for labels in found]})
