"""Flask's own cookie session, which Hawiya never uses: not opened, signed or sent.

A holder's session is a row of ours behind an opaque cookie (identity.web.holder.guards) and a
form's CSRF token a signed cookie of its own (identity.web.csrf), so `flask.session` would only
cost every request a serializer and a cookie parse. Writing to it fails loudly (NullSession).
"""

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin


class NoSession(SessionInterface):
    """A session interface whose session is always Flask's null one, and never saved."""

    def open_session(self, app: Flask, request: Request) -> SessionMixin:
        return self.make_null_session(app)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        return None
