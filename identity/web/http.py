"""What every view reads from a request and answers with: a JSON body, a bearer token, a PDF."""

from typing import Any

from flask import Response, request

from identity import db
from identity.documents import documents
from identity.errors import BadRequest, Refused
from identity.models import Document


class UnsupportedMediaType(Refused):
    code = "unsupported-media-type"
    message = "Send a JSON object (application/json)."


def json_body() -> dict[str, Any]:
    """Return the request's JSON object, or refuse it."""
    if not request.is_json:
        raise UnsupportedMediaType()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body


def bearer_token() -> str | None:
    """Return the bearer token of the Authorization header, if any."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def pdf_response(document: Document) -> Response:
    """Answer with a document's stamped PDF as a download."""
    response = Response(documents.pdf(db.session(), document), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{document.number}.pdf"'
    return response
