"""The front page: what Hawiya is and where to go next."""

from flask import Blueprint, render_template

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    """Show the front page."""
    return render_template("home.html")
