"""Arabic (the default, right to left) and English, chosen by ?lang= and remembered in a cookie."""

from urllib.parse import urlencode

from flask import Flask, Response, current_app, g, request
from flask_babel import Babel, get_locale
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from identity import db
from identity.models import DocumentType

LANGUAGES = ("ar", "en")
DEFAULT = "ar"
COOKIE = "lang"

babel = Babel()


def select_locale() -> str:
    """Pick the language: ?lang= first, then the remembered choice, then Arabic."""
    for candidate in (request.args.get("lang"), request.cookies.get(COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT


def document_type_label(key: str) -> str:
    """Return a document type's label in the page's language (the key for an unknown type)."""
    if "document_type_labels" not in g:
        g.document_type_labels = {
            row.key: row for row in db.session().scalars(select(DocumentType))
        }
    found: DocumentType | None = g.document_type_labels.get(key)
    if found is None:
        return key
    return found.label_ar if str(get_locale() or DEFAULT) == "ar" else found.label_en


def stay_on(path: str) -> None:
    """Make this page's language link lead to `path` (for a page a POST rendered elsewhere)."""
    g.language_path = path


def _has_page(path: str) -> bool:
    """Return whether a GET of this path would reach a view."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        adapter.match(path[len(request.script_root) :], method="GET")
    except RequestRedirect:  # a trailing slash away from a page
        return True
    except HTTPException:
        return False
    return True


def language_link(lang: str) -> str:
    """Return this page's address in `lang`: the same path and query, with lang= replaced.

    A page that a POST rendered is reached again by GET at the same path (every such path
    answers a GET page), unless the view chose another with `stay_on`.
    """
    path = g.get("language_path") or request.script_root + request.path
    if "language_path" not in g and request.method not in ("GET", "HEAD") and not _has_page(path):
        path = request.script_root + "/"  # never a link to a 405: a POST-only address
    query = [(name, value) for name, value in request.args.items(multi=True) if name != "lang"]
    return f"{path}?{urlencode([*query, ('lang', lang)])}"


def init_app(app: Flask) -> None:
    """Wire Flask-Babel, the template helpers (document_type_label too) and the language cookie."""
    babel.init_app(app, locale_selector=select_locale, default_timezone="Asia/Kuwait")
    app.add_template_global(document_type_label)
    app.add_template_global(language_link)

    @app.context_processor
    def language() -> dict[str, str]:
        lang = str(get_locale() or DEFAULT)
        return {
            "lang": lang,
            "dir": "rtl" if lang == "ar" else "ltr",
            "other_lang": "en" if lang == "ar" else "ar",
        }

    @app.after_request
    def remember_language(response: Response) -> Response:
        chosen = request.args.get("lang")
        if chosen in LANGUAGES and request.cookies.get(COOKIE) != chosen:
            response.set_cookie(
                COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True
            )
        return response
