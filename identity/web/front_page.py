"""The front page: what Hawiya is and where to go next; and the site's icon."""

from flask import Blueprint, Response, current_app, render_template

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    """Show the front page: a way on for beneficiaries, verifiers, staff and developers."""
    return render_template("home.html")


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Answer the icon browsers ask for at the root (pages link static/favicon.svg)."""
    response = current_app.send_static_file("favicon.ico")
    response.cache_control.public = True
    response.cache_control.max_age = 7 * 24 * 3600
    return response
