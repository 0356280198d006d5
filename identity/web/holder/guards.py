"""Who is signed in to the browser: the session cookie, read once (the app's bearer: web.gates)."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, redirect, request, url_for

from identity.signin import sessions


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
