"""Who is signed in: the browser's session cookie or the app's bearer token, checked once."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, redirect, request, url_for

from identity.errors import Unauthorized
from identity.signin import sessions
from identity.web.http import bearer_token


def current_holder() -> sessions.HolderSession | None:
    """Return the browser's live session, if any (read once per request)."""
    if "holder" not in g:
        g.holder = sessions.load(request.cookies.get(sessions.COOKIE), sessions.WEB)
    holder: sessions.HolderSession | None = g.holder
    return holder


def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send anyone not signed in to /login."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_holder() is None:
            return redirect(url_for("login.start"))
        return view(*args, **kwargs)

    return wrapper


def require_holder() -> sessions.HolderSession:
    """Return the API session of the bearer token, or refuse with 401."""
    holder = sessions.load(bearer_token(), sessions.API)
    if holder is None:
        raise Unauthorized("Sign in first: send Authorization: Bearer <access_token>.")
    return holder
