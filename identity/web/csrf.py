"""CSRF protection for every form: a signed double-submit token.

Each browser gets a random value in a `__Host-` cookie; forms carry an HMAC of it under the
server's secret. A cross-site page can make the browser send the cookie but can neither read it
nor compute the HMAC, so it cannot forge the form field. This works before sign-in too.
"""

import hashlib
import hmac
import secrets

from flask import Flask, Response, current_app, g, request

from identity.errors import Refused

COOKIE = "__Host-hawiya-csrf"
FIELD = "csrf_token"


class CsrfFailed(Refused):
    code = "csrf-failed"
    message = "The form has expired. Go back, reload the page and try again."


def _sign(value: str) -> str:
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    return hmac.new(key, b"csrf:" + value.encode("utf-8"), hashlib.sha256).hexdigest()


def token() -> str:
    """Return the form token for this browser, creating its cookie when needed."""
    value = request.cookies.get(COOKIE, "")
    if len(value) != 43:
        value = g.get("csrf_new") or secrets.token_urlsafe(32)
        g.csrf_new = value
    return _sign(value)


def check() -> None:
    """Refuse a form whose token does not match this browser's cookie."""
    value = request.cookies.get(COOKIE, "")
    sent = request.form.get(FIELD, "")
    if len(value) != 43 or not hmac.compare_digest(sent.encode(), _sign(value).encode()):
        raise CsrfFailed()


def init_app(app: Flask) -> None:
    """Check every unsafe request outside the bearer-token API; hand out cookies as needed."""
    app.jinja_env.globals["csrf_token"] = token

    @app.before_request
    def protect() -> None:
        # A request that matched no route gets its 404 or 405 rather than a CSRF refusal.
        if request.routing_exception is not None or request.path.startswith("/api/"):
            return
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            check()

    @app.after_request
    def set_cookie(response: Response) -> Response:
        if g.get("csrf_new"):
            response.set_cookie(
                COOKIE, g.csrf_new, secure=True, httponly=True, samesite="Strict", path="/"
            )
        return response
