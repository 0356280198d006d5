"""`hawiya init` and `hawiya db`: the schema's migrations and the first signing key."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from identity import db, signing

db_cli = AppGroup("db", help="Schema migrations (for developers).")


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the schema and create a signing key if there is none."""
    before, after = db.upgrade(db.get_db().engine)
    if before == after:
        click.echo(f"Schema is up to date (revision {after}).")
    else:
        click.echo(f"Schema upgraded from {before or 'empty'} to {after}.")
    keys_dir = Path(current_app.config["KEYS_DIR"])
    if signing.key_files(keys_dir):
        click.echo(f"Signing keys present in {keys_dir}.")
    else:
        kid = signing.create_key(keys_dir)
        click.echo(f"Created signing key {kid} in {keys_dir}.")


@db_cli.command("revision")
@click.argument("message")
@click.option("--autogenerate", is_flag=True, help="Compare the models with the database.")
def revision_command(message: str, autogenerate: bool) -> None:
    """Write a new migration file in identity/migrations/versions/."""
    db.new_revision(db.get_db().engine, message, autogenerate)
