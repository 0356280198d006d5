"""The public signing keys, for any verifier: `/.well-known/jwks.json`."""

from flask import Blueprint, Response, jsonify, request

from identity import signing

bp = Blueprint("jwks", __name__)

# Verifiers may cache the set for five minutes: a rotated key signs at once, so a verifier that
# meets an unknown kid should fetch the set again; a retired key leaves caches within this time.
MAX_AGE = 300


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    """Serve the active and verify-only public keys (never a private member)."""
    response = jsonify(signing.jwks())
    # Public, identical for everyone and not personal: shared caches may keep it.
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    # No credentials are involved, so browser-based verifiers on other origins may read it.
    response.headers["Access-Control-Allow-Origin"] = "*"
    # An unchanged set answers 304 to a verifier that sends back the ETag it holds.
    response.add_etag()
    response.make_conditional(request)
    return response
