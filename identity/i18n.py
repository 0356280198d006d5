"""Arabic (the default, right to left) and English, chosen by ?lang= and remembered in a cookie."""

from flask import Flask, Response, request
from flask_babel import Babel, get_locale

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


def init_app(app: Flask) -> None:
    """Wire Flask-Babel, the template helpers and the language cookie."""
    babel.init_app(app, locale_selector=select_locale, default_timezone="Asia/Kuwait")

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
