"""Security headers on every response."""

from flask import Flask, Response, request

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


# Each on every response whose view did not set its own.
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("Strict-Transport-Security", "max-age=63072000; includeSubDomains"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "geolocation=(), microphone=()"),
)


def init_app(app: Flask) -> None:
    """Set the headers of DESIGN.md's security section on every response."""

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        present = {name.lower() for name, _value in headers}  # one pass over the headers
        headers.extend([(n, v) for n, v in SECURITY_HEADERS if n.lower() not in present])
        # Anything may be personal unless its view says otherwise (static files, public keys):
        # never cached by a browser or a proxy.
        if not request.path.startswith("/static/") and "cache-control" not in present:
            headers["Cache-Control"] = "no-store"
        return response
