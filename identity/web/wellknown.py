"""The public documents every program reads: keys, status lists, the API's description, counters.

`/.well-known/jwks.json`, `/status/<n>`, `/api/v1/openapi.json`, `/api/v1/document-types` and
`/api/v1/audit/head` are public (they name no one); `/metrics` needs a metrics token.
"""

from pathlib import Path

from flask import Blueprint, Response, jsonify, request, send_file

from identity import db, metrics, signing
from identity.audit import head as audit_head
from identity.clock import api_time
from identity.digital_id import status_list
from identity.documents import document_types
from identity.errors import NotFound
from identity.store import get_store
from identity.web.gates import require_metrics

bp = Blueprint("wellknown", __name__)

# Verifiers may cache the set for five minutes: a rotated key signs at once, so a verifier that
# meets an unknown kid should fetch the set again; a retired key leaves caches within this time.
MAX_AGE = 300
OPENAPI = Path(__file__).resolve().parent / "openapi.json"


def shared(response: Response, max_age: int) -> Response:
    """Mark a public answer that names no one: cacheable, readable from any origin, with an ETag.

    Shared caches may keep it for max_age seconds; browser-based verifiers on other origins may
    read it (no credentials are involved); an unchanged answer is a 304 to a client that sends
    back the ETag it holds.
    """
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.add_etag()
    response.make_conditional(request)
    return response


@bp.get("/api/v1/openapi.json")
def openapi() -> Response:
    """Serve the API's OpenAPI document."""
    response = send_file(OPENAPI, mimetype="application/json", max_age=300)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    """Serve the active and verify-only public keys (never a private member)."""
    return shared(jsonify(signing.jwks()), MAX_AGE)


@bp.get("/status/<int:number>")
def status_list_token(number: int) -> Response:
    """Serve Status List Token `number` to any verifier: public, cacheable TTL seconds."""
    signed = status_list.token(number)
    if signed is None:
        raise NotFound("There is no status list with this number.")
    # Bits and indices only, the same for everyone.
    return shared(Response(signed, mimetype=status_list.MEDIA_TYPE), status_list.TTL)


@bp.get("/api/v1/document-types")
def document_types_listing() -> Response:
    """List the active document types."""
    found = document_types.list_types(db.session())
    return jsonify({"document_types": [labels.as_json() for labels in found]})


@bp.get("/api/v1/audit/head")
def audit_head_token() -> Response:
    """Answer the signed head of the audit log (public: it names no one)."""
    head = audit_head.signed_head(db.session())
    return jsonify(entry=head.entry, hash=head.hash, at=api_time(head.at), token=head.token)


@bp.get("/metrics")
def metrics_exposition() -> Response:
    """Expose the shared counters to a scraper holding a `metrics` token."""
    require_metrics()
    metrics.flush()  # this process's own counts first
    counts = get_store().counts(metrics.STORE_KEY)
    return Response(metrics.render(counts), content_type=metrics.CONTENT_TYPE)
