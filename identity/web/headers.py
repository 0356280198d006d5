"""Security headers on every response."""

from flask import Flask, Response, request

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def init_app(app: Flask) -> None:
    """Set the headers of DESIGN.md's security section on every response."""

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "geolocation=(), microphone=()")
        # Anything may be personal unless its view says otherwise (static files, public keys):
        # never cached by a browser or a proxy.
        if not request.path.startswith("/static/") and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
        return response
