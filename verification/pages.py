"""Pages a verifier's phone camera opens: the verdict on a scanned ID."""

from flask import Blueprint, render_template

from verification.checks import check_phone_token

bp = Blueprint("scan", __name__)


@bp.get("/v/<path:token>")
def id_verdict(token: str) -> str:
    """Check a phone ID token live and show the verdict, with nothing more than the name."""
    verdict = check_phone_token(token)
    return render_template("verdict.html", verdict=verdict, person=verdict.beneficiary)
