"""The beneficiary's digital ID card: the page with its self-refreshing QR, and the app's API."""

import time

from flask import Blueprint, Response, jsonify, render_template, send_file

from identity import db, qr
from identity.config import PROJECT_ROOT
from identity.digital_id import credentials
from identity.errors import NotFound, Unauthorized
from identity.models import Credential
from identity.signin import accounts, sessions
from identity.web.gates import require_holder
from identity.web.holder.guards import current_holder, signed_in

bp = Blueprint("card", __name__)
STATIC = PROJECT_ROOT / "verification" / "static"  # the site's files, served from the root here


def holder_credential(holder: sessions.HolderSession) -> Credential:
    """Return the signed-in person's ID (credentials.for_holder: a first one if they have none)."""
    session = db.session()
    credential = credentials.for_holder(session, holder.beneficiary_id, "system")
    if credential is None:
        raise NotFound()
    return credential


def card_state(holder: sessions.HolderSession, with_svg: bool = True) -> dict[str, object]:
    """Return the QR text, its SVG (for the pages; the app draws its own) and timing."""
    credential = holder_credential(holder)
    token = credentials.phone_token(credential)
    state: dict[str, object] = {
        "qr": token.url,
        "expires_at": token.expires_at,
        "expires_in": max(token.expires_at - int(time.time()), 0),
        "status": credential.status,
    }
    if with_svg:
        # A fixed mask keeps a refresh cheap: see identity/qr.py and bench/qr_bench.py.
        state["svg"] = qr.svg(token.url, error=qr.PHONE_ERROR, title="QR")
    return state


@bp.get("/me/card")
@signed_in
def card_page() -> str:
    """Show the ID card: names, live status and the QR that refreshes itself."""
    holder = current_holder()
    assert holder is not None
    return render_template(
        "holder/card.html", person=accounts.holder(holder.beneficiary_id), card=card_state(holder)
    )


@bp.get("/me/card.json")
def card_json() -> Response:
    """Give the card page a fresh QR (its script calls this before the old one expires)."""
    holder = current_holder()
    if holder is None:
        raise Unauthorized("Sign in again.")
    return jsonify(card_state(holder))


@bp.get("/api/v1/me/card")
def api_card() -> Response:
    """Give the mobile app the text of a fresh QR, when it stops working, and the live status."""
    state = card_state(require_holder(), with_svg=False)
    return jsonify({k: state[k] for k in ("qr", "expires_at", "status")})


@bp.get("/api/v1/me/credential")
def api_credential() -> Response:
    """Give the mobile app a long-lived credential token that verifiers check offline."""
    signed = credentials.credential_token(holder_credential(require_holder()))
    return jsonify({"credential": signed.token, "expires_at": signed.expires_at})


@bp.get("/offline")
def offline() -> str:
    """Say, without anything personal, that the card needs a connection."""
    return render_template("holder/offline.html")


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    """Make the site installable on a phone's home screen."""
    response = send_file(STATIC / "manifest.webmanifest", mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/sw.js")
def service_worker() -> Response:
    """Serve the service worker from the root, so its scope is the whole site."""
    response = send_file(STATIC / "sw.js", mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response
