"""One error shape, built in one place: JSON for the API, a page for people.

Here is the one table of refusals: `STATUS` gives the HTTP status of each refusal code (every
`identity.errors.Refused` is answered with it), `MESSAGES` the sentence a person reads for it
in their language (the JSON keeps the English message, for integrators).
"""

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, SecurityError

from identity.errors import Refused, ServiceUnavailable
from identity.signing import NoSigningKey
from identity.store import StoreUnavailable

log = logging.getLogger(__name__)

# The HTTP status of each refusal code; a code not listed is a 400.
STATUS = {
    "bad-request": 400, "invalid-input": 400, "csrf-failed": 400, "key-in-query": 400,
    "code-invalid": 400, "code-expired": 400,
    "unauthorized": 401, "sign-in-refused": 401,
    "forbidden": 403,
    "not-found": 404,
    "key-unknown": 404,
    "conflict": 409, "duplicate": 409, "key-active": 409,
    "pdf-too-large": 413, "too-large": 413, "too-many-pixels": 413,
    "unsupported-media-type": 415, "not-a-pdf": 415, "not-an-image": 415,
    "pdf-too-complex": 422,
    "too-many-requests": 429, "account-locked": 429, "locked": 429,
    "unavailable": 503, "sms-unavailable": 503,
}  # fmt: skip

# What a person reads for each refusal code, in their language. Hints about one form's fields
# that are not refusal codes stay with their page (the console's MESSAGES and sign-in's HINT).
MESSAGES = {
    # signing in, the holder's pages
    "code-invalid": _l("That code is not right. Check the SMS and try again."),
    "code-expired": _l("This code can no longer be used. Request a new code."),
    "account-locked": _l("Too many wrong codes. Sign-in is locked for 15 minutes."),
    "too-many-requests": _l("Too many attempts. Wait a few minutes and try again."),
    "sms-unavailable": _l("We cannot send text messages right now. Try again in a few minutes."),
    "unavailable": _l("The service is busy. Try again in a minute."),
    "csrf-failed": _l("The form has expired. Reload the page and try again."),
    # the staff console
    "sign-in-refused": _l("The username, password or code is not right."),
    "locked": _l("Too many failed sign-ins. This account is locked for 15 minutes."),
    "conflict": _l("This change is not possible in the current status."),
    "key-active": _l("The active signing key cannot be retired: rotate first."),
    "key-unknown": _l("There is no such signing key."),
    "duplicate": _l("A document type with this key exists already."),
    "password-current": _l("Your current password is not right."),
    "password-length": _l("Choose a password of 12 to 256 characters."),
    "password-repeat": _l("The two new passwords are not the same."),
    "password-same": _l("Choose a password different from the one you were given."),
    # an uploaded PDF (identity.documents.stamp)
    "not-a-pdf": _l("This file is not a PDF. Export the document as PDF, then upload it."),
    "pdf-too-large": _l("This PDF is larger than 10 MB. Export it again with smaller images."),
    "pdf-malformed": _l("This PDF is damaged or incomplete and cannot be read."),
    "pdf-encrypted": _l("This PDF is password-protected. Save it again without a password."),
    "pdf-empty": _l("This PDF has no pages."),
    "pdf-too-many-pages": _l("This PDF has more than 200 pages."),
    "pdf-too-complex": _l(
        "This PDF is too complex to check. Print it to a new PDF (or export it again with "
        "smaller images), then upload it."
    ),
    # an uploaded photo of a QR code (verification.photos, verification.web.scanner)
    "too-large": _l("The photo is too large. Upload a photo of at most 5 MB."),
    "too-many-pixels": _l("The photo has too many pixels. Upload a smaller photo of the code."),
    "odd-shape": _l(
        "This image is too wide or too tall to be a photo of a QR code. Upload a photo of the code."
    ),
    "not-an-image": _l(
        "This file is not a photo we can read. Upload a JPEG, PNG, WebP or GIF image."
    ),
}


def status_of(refused: Refused) -> int:
    """Return the HTTP status that answers a refusal."""
    return STATUS.get(refused.code, 400)


def message_of(refused: Refused, fallback: str | None = None) -> str:
    """Return what a person reads for a refusal in the page's language (fallback: its hint)."""
    found = MESSAGES.get(refused.code)
    if found is None:
        return fallback if fallback is not None else refused.message
    return str(found)


# Titles for the people's pages, by status; the JSON message stays in English for integrators.
PAGE_TITLES = {
    400: _l("The request could not be understood"),
    401: _l("Please sign in"),
    403: _l("You are not allowed to see this page"),
    404: _l("Page not found"),
    405: _l("This action is not allowed here"),
    413: _l("The file is too large"),
    415: _l("This kind of file is not accepted"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
    503: _l("The service is busy"),
}


# Paths read by programs, never by people: their errors are JSON whatever they Accept.
MACHINE_PATHS = ("/api/", "/status/", "/metrics")


def wants_json() -> bool:
    """Answer the API, and any client that asks for JSON over HTML, in JSON."""
    if request.path.startswith(MACHINE_PATHS):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(
    status: int, code: str, message: str, retry_after: int | None = None, *, page: bool = True
) -> Response:
    """Build the one error response of the whole service (always JSON when page is False)."""
    if not page or wants_json():
        response = jsonify({"error": {"code": code, "message": message}})
    else:
        title = str(PAGE_TITLES.get(status, PAGE_TITLES[400]))
        response = Response(render_template("error.html", status=status, title=title))
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _kebab(name: str) -> str:
    return "-".join(name.lower().split())


def register(app: Flask) -> None:
    """Route every error, ours and the framework's, through error_response."""

    @app.errorhandler(Refused)
    def refused(error: Refused) -> Response:
        return error_response(status_of(error), error.code, error.message, error.retry_after)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        code = _kebab(error.name or "error")
        response = error_response(status, code, error.description or error.name)
        if status == 405 and error.get_response().headers.get("Allow"):
            response.headers["Allow"] = error.get_response().headers["Allow"]
        return response

    @app.errorhandler(SecurityError)
    def untrusted_host(_error: SecurityError) -> Response:
        # Raised by Flask's TRUSTED_HOSTS check. JSON even for a browser: a page's links would
        # be built for the very host we refuse (and Flask has no URL adapter for it).
        return error_response(
            400, "untrusted-host", "This server does not answer for that host name.", page=False
        )

    @app.errorhandler(StoreUnavailable)
    def store_down(_error: StoreUnavailable) -> Response:
        log.error("the store (Redis) is unreachable")
        return unavailable()

    @app.errorhandler(OperationalError)
    def database_down(_error: OperationalError) -> Response:
        log.error("the database is unreachable or refused the query")
        return unavailable()

    @app.errorhandler(NoSigningKey)
    def no_signing_key(_error: NoSigningKey) -> Response:
        log.error("no signing key in the keys folder: run `hawiya init`")
        return unavailable()

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        # Logged with its traceback for us; the client sees one sentence and no internals.
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal-error", "Something went wrong on our side.")


def unavailable() -> Response:
    """Answer "busy, try again in a minute" (503 with Retry-After)."""
    return error_response(503, "unavailable", ServiceUnavailable.message, retry_after=30)
