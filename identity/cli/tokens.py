"""`hawiya tokens create`: API tokens for the agency's own systems (back office, metrics)."""

import click
from flask.cli import AppGroup

from identity import db
from identity.access import api_tokens

tokens_cli = AppGroup("tokens", help="API tokens for the agency's systems (back office, metrics).")


@tokens_cli.command("create")
@click.option("--role", type=click.Choice(api_tokens.ROLES), required=True)
def token_create_command(role: str) -> None:
    """Create an API token of a role; it is printed once, alone on the last line."""
    db.require_schema()
    with db.transaction() as session:
        new = api_tokens.create(session, role, "cli")
    click.echo(f"A {role} token (id {new.record.id}) follows. It is shown only this once.")
    click.echo(new.token)
