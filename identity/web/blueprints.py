"""The issuing side's blueprints (`register`), and what every request passes (`install_edges`).

Views are thin: they read the request, call one service function and answer.
"""

from flask import Flask

from identity.audit.head import DailyPublisher
from identity.web import (
    api_docs,
    backoffice,
    csrf,
    front_page,
    headers,
    health,
    i18n,
    inputs,
    refusals,
    unit_of_work,
    wellknown,
)
from identity.web.console import admin, pages
from identity.web.holder import card, documents, signin_api, signin_pages, who_checked_me
from identity.web.no_session import NoSession

BLUEPRINTS = (
    *(health.bp, front_page.bp, wellknown.bp, api_docs.bp, backoffice.bp),
    *(signin_pages.bp, signin_api.bp, card.bp, who_checked_me.bp, documents.bp),
    *(pages.bp, admin.bp),
)


def install_edges(app: Flask) -> None:
    """Install what every request passes through; first, before any blueprint is registered."""
    inputs.init_app(app)  # its `<int:…>` converter must precede every route
    app.session_interface = NoSession()
    i18n.init_app(app)
    csrf.init_app(app)
    headers.init_app(app)
    refusals.register(app)
    app.before_request(DailyPublisher())  # the signed audit head, logged once a UTC day
    unit_of_work.install(app)  # last, so that it runs first after each view


def register(app: Flask) -> None:
    """Register the issuing side's blueprints."""
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
