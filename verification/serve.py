"""`hawiya serve`: the production server (gunicorn), with the start-up checks applied first."""

import os
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from identity.config import PROJECT_ROOT, ConfigError, check


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes [HAWIYA_WORKERS].")
@click.option("--timeout", default=30, show_default=True, type=click.IntRange(5, 600),
              help="Seconds before a stuck worker is restarted.")  # fmt: skip
@with_appcontext
def serve_command(host: str, port: int, workers: int | None, timeout: int) -> None:
    """Run Hawiya under gunicorn; several workers need HAWIYA_REDIS_URL."""
    count = workers or current_app.config["WORKERS"]
    # The same check every worker will run, here, so a bad setting fails before anything starts.
    check({**current_app.config, "WORKERS": count})
    env = {**os.environ, "HAWIYA_WORKERS": str(count)}
    arguments = [
        sys.executable, "-m", "gunicorn", "wsgi:app",
        "--bind", f"{host}:{port}", "--workers", str(count), "--timeout", str(timeout),
        "--access-logfile", "-", "--chdir", str(PROJECT_ROOT),
        # The control socket is one path per machine: several instances would share it.
        "--no-control-socket",
    ]  # fmt: skip
    try:
        os.execve(sys.executable, arguments, env)  # noqa: S606  (our own interpreter, fixed args)
    except OSError as exc:
        raise ConfigError(f"Could not start gunicorn: {exc.strerror}.") from None
