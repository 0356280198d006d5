"""The holder API for the agency's mobile app: sign in by SMS code, bearer sessions."""

from flask import Blueprint, Response, current_app, jsonify, request

from identity.signin import accounts, otp, sessions
from identity.web.gates import require_holder
from identity.web.http import bearer_token, json_body

bp = Blueprint("holder_api", __name__, url_prefix="/api/v1")


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
