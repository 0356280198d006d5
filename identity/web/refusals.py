"""One error shape, built in one place: JSON for the API, a page for people."""

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, SecurityError

from identity.errors import ApiError, ServiceUnavailable
from identity.signing import NoSigningKey
from identity.store import StoreUnavailable

log = logging.getLogger(__name__)


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

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return error_response(error.status, error.code, error.message, error.retry_after)

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
        return error_response(503, "unavailable", ServiceUnavailable.message, retry_after=30)

    @app.errorhandler(OperationalError)
    def database_down(_error: OperationalError) -> Response:
        log.error("the database is unreachable or refused the query")
        return error_response(503, "unavailable", ServiceUnavailable.message, retry_after=30)

    @app.errorhandler(NoSigningKey)
    def no_signing_key(_error: NoSigningKey) -> Response:
        log.error("no signing key in the keys folder: run `hawiya init`")
        return error_response(503, "unavailable", ServiceUnavailable.message, retry_after=30)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        # Logged with its traceback for us; the client sees one sentence and no internals.
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal-error", "Something went wrong on our side.")
