"""`hawiya agencies`: register, list and disable the agencies that verify through the API."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from identity import db
from identity.access import agencies
from identity.models import Agency

agencies_cli = AppGroup("agencies", help="Agencies that verify through the API, and their keys.")


@agencies_cli.command("create")
@click.argument("name")
@click.option("--purpose", required=True, help="Why this agency verifies, in a sentence.")
@click.option("--scope", required=True, help="Attributes it may see, e.g. name,status.")
@click.option("--rate-limit", default=agencies.DEFAULT_RATE_LIMIT, show_default=True,
              help="Verifications per minute.")  # fmt: skip
def agency_create_command(name: str, purpose: str, scope: str, rate_limit: int) -> None:
    """Register an agency; its API key is printed once, alone on the last line."""
    db.require_schema()
    with db.transaction() as session:
        new = agencies.create(session, name, purpose, scope, "cli", rate_limit)
    click.echo(f"Agency {new.agency.name!r} may see: {new.agency.scope or 'the verdict only'}.")
    click.echo("Its API key follows. It is shown only this once: hand it over securely.")
    click.echo(new.key)


@agencies_cli.command("list")
def agency_list_command() -> None:
    """List the agencies, their scope and whether their key works."""
    db.require_schema()
    for agency in db.session().scalars(select(Agency).order_by(Agency.name)):
        state = "active" if agency.active else "disabled"
        click.echo(f"{agency.name}\t{state}\t{agency.scope}\t{agency.key_prefix}…")


@agencies_cli.command("disable")
@click.argument("name")
def agency_disable_command(name: str) -> None:
    """Disable an agency: its key is refused from the next request on."""
    db.require_schema()
    with db.transaction() as session:
        agency = agencies.by_name(session, name)
        if agency is None:
            raise click.ClickException(f"No agency named {name!r}.")
        agencies.set_active(session, agency, False, "cli")
    click.echo(f"Agency {name!r} is disabled; its key no longer works.")
