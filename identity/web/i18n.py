"""Arabic (the default, right to left) and English, chosen by ?lang= and remembered in a cookie."""

from datetime import datetime
from urllib.parse import urlencode

from flask import Flask, Response, current_app, g, request
from flask_babel import Babel, get_locale
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from identity import clock, db
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


def page_language() -> str:
    """Return the page's language, "ar" or "en"."""
    lang = str(get_locale() or DEFAULT)
    return lang if lang in LANGUAGES else DEFAULT


# The times people read, in the agency's zone (identity.clock): each in a left-to-right isolate
# (class "when") whose date and time never break inside (hawiya.css); a narrow column may put the
# time under its date, whole.


def _when(text: str) -> Markup:
    parts = Markup(" ").join(Markup("<span>%s</span>") % part for part in text.split(" "))
    return Markup('<bdi dir="ltr" class="when">%s</bdi>') % parts


def local_date(at: datetime) -> Markup:
    """Show the local calendar date of a stored time: 2026-12-02."""
    return _when(clock.date_text(at))


def local_time(at: datetime, seconds: bool = False) -> Markup:
    """Show the local date and time of a stored time: 2026-12-02 00:12 (the zone named nearby)."""
    return _when(clock.datetime_text(at, seconds))


def local_time_named(at: datetime, seconds: bool = False) -> Markup:
    """Show the local date and time with the zone named: 2026-12-02 00:12 (Kuwait time)."""
    return _when(clock.datetime_text(at, seconds)) + Markup(" (%s)") % zone_label()


def zone_label() -> str:
    """Name the agency's zone in the page's language: "Kuwait time" / "بتوقيت الكويت"."""
    return clock.zone_label(page_language())


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
    """Wire Flask-Babel, the template helpers (document types, times) and the language cookie."""
    babel.init_app(app, locale_selector=select_locale, default_timezone=app.config["TIMEZONE"])
    app.add_template_global(document_type_label)
    app.add_template_global(zone_label)
    app.add_template_filter(local_date)
    app.add_template_filter(local_time)
    app.add_template_filter(local_time_named)
    app.add_template_global(language_link)

    @app.context_processor
    def language() -> dict[str, str]:
        lang = page_language()
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
