"""The checking side's blueprints: the verdict pages, the scanner and the agency API."""

from flask import Flask

from verification.web import api, pages, scanner

BLUEPRINTS = (pages.bp, scanner.bp, api.bp)


def register(app: Flask) -> None:
    """Register the checking side's blueprints."""
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
