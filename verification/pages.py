"""Pages a verifier's phone camera opens: the verdict on a scanned ID."""

from flask import Blueprint, render_template

from verification.checks import PUBLIC_PURPOSE, Verifier, check_phone_token, record

bp = Blueprint("scan", __name__)


@bp.get("/v/<path:token>")
def id_verdict(token: str) -> str:
    """Check a phone ID token live and show the verdict, with nothing more than the name."""
    verdict = record(check_phone_token(token), Verifier(None, "page"), PUBLIC_PURPOSE)
    return render_template("verdict.html", verdict=verdict, person=verdict.beneficiary)
