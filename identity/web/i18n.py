"""Arabic (the default, right to left) and English, chosen by ?lang= and remembered in a cookie."""

from flask import Flask, Response, g, request
from flask_babel import Babel, get_locale
from sqlalchemy import select

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


def init_app(app: Flask) -> None:
    """Wire Flask-Babel, the template helpers (document_type_label too) and the language cookie."""
    babel.init_app(app, locale_selector=select_locale, default_timezone="Asia/Kuwait")
    app.add_template_global(document_type_label)

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
