"""The pages a verifier's phone opens: the verdict on a scanned ID or document, and the form to
type a document's number and code (limited, so the code cannot be guessed)."""

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from identity import db, ratelimit
from identity.audit.verifications import PUBLIC_PURPOSE
from identity.documents import documents
from identity.errors import TooManyRequests
from identity.web.refusals import status_of
from verification.checks import Verifier, check_document, check_phone_token, record

bp = Blueprint("pages", __name__)
GUESSES_PER_CLIENT, GUESSES_PER_NUMBER, WINDOW = 20, 10, 3600


@bp.get("/v/<path:token>")
def id_verdict(token: str) -> str:
    """Check a phone ID token live and show the verdict, with nothing more than the name."""
    verdict = record(check_phone_token(token), Verifier(None, "page"), PUBLIC_PURPOSE)
    return render_template("verify/verdict.html", verdict=verdict, person=verdict.beneficiary)


@bp.get("/d/<reference>")
def document_verdict(reference: str) -> str:
    """Show the live status of a document, and let the verifier compare the file they hold."""
    checked = record(check_document(reference), Verifier(None, "page"), PUBLIC_PURPOSE)
    return render_template(
        "verify/document_verdict.html", verdict=checked, document=checked.document
    )


@bp.get("/d")
def lookup_form() -> str:
    """Ask for the document number and the verification code printed on it."""
    return render_template("verify/document_lookup.html")


@bp.post("/d")
def lookup() -> tuple[str, int] | BaseResponse:
    """Find a document by number and code; limited, so the code cannot be guessed."""
    number = request.form.get("number", "")[:64]
    code = request.form.get("code", "")[:64]
    try:
        # Each limit in its own key space: a "number" spelled like an address is a number.
        ratelimit.hit(f"doc-guess-client:{request.remote_addr}", GUESSES_PER_CLIENT, WINDOW)
        key = documents.normalize_number(number)
        ratelimit.hit(f"doc-guess-number:{key}", GUESSES_PER_NUMBER, WINDOW)
    except TooManyRequests as limited:
        page = render_template("verify/document_lookup.html", number=number, error="too-many")
        return page, status_of(limited)
    document = documents.by_number_and_code(db.session(), number, code)
    if document is None:
        page = render_template("verify/document_lookup.html", number=number, error="no-match")
        return page, 404
    return redirect(url_for("pages.document_verdict", reference=document.reference), 303)
