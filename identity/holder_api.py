"""The holder API for the agency's mobile app: sign in by SMS code, bearer sessions."""

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, send_file

from identity import accounts, otp, sessions
from identity.errors import ApiError, Unauthorized

bp = Blueprint("holder_api", __name__, url_prefix="/api/v1")


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported-media-type"
    message = "Send a JSON object (application/json)."


def json_body() -> dict[str, Any]:
    """Return the request's JSON object, or refuse it."""
    if not request.is_json:
        raise UnsupportedMediaType()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError("The body must be a JSON object.")
    return body


def bearer_token() -> str | None:
    """Return the bearer token of the Authorization header, if any."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def require_holder() -> sessions.HolderSession:
    """Return the API session of the bearer token, or refuse with 401."""
    holder = sessions.load(bearer_token(), sessions.API)
    if holder is None:
        raise Unauthorized("Sign in first: send Authorization: Bearer <access_token>.")
    return holder


OPENAPI = Path(__file__).resolve().parent / "openapi.json"


@bp.get("/openapi.json")
def openapi() -> Response:
    """Serve the API's OpenAPI document."""
    response = send_file(OPENAPI, mimetype="application/json", max_age=300)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.post("/auth/start")
def auth_start() -> tuple[Response, int]:
    """Start a sign-in; 202 with a transaction id whether or not anything matched."""
    body = json_body()
    txn = otp.start(body.get("civil_id"), body.get("file_number"), request.remote_addr or "")
    return jsonify({"txn": txn}), 202


@bp.post("/auth/verify")
def auth_verify() -> Response:
    """Exchange a transaction id and its code for an access token."""
    body = json_body()
    who = otp.verify(body.get("txn"), body.get("code"), request.remote_addr or "")
    token = accounts.sign_in(who, sessions.API)
    return jsonify({"access_token": token, "expires_in": current_app.config["SESSION_IDLE"]})


@bp.post("/auth/logout")
def auth_logout() -> tuple[str, int]:
    """End the bearer session."""
    require_holder()
    sessions.destroy(bearer_token())
    return "", 204
