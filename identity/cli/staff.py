"""`hawiya staff`: create, disable and reset the console's staff users (identity.access.staff)."""

import click
from flask.cli import AppGroup

from identity import db
from identity.access import staff

staff_cli = AppGroup("staff", help="Staff accounts of the console.")


@staff_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(staff.ROLES), required=True)
def create_command(username: str, role: str) -> None:
    """Create a staff user; prints the one-time password and the TOTP URI."""
    db.require_schema()
    with db.transaction() as session:
        new = staff.create(session, username, role, "cli")
    click.echo(f"Staff user {new.user.username!r} ({role}) created.")
    click.echo("Add this TOTP URI to an authenticator app (or make a QR of it):")
    click.echo(new.totp_uri)
    click.echo("The password follows. It is shown only this once: hand it over securely.")
    click.echo(new.password)


@staff_cli.command("disable")
@click.argument("username")
def disable_command(username: str) -> None:
    """Disable a staff user: their sessions stop working at their next request."""
    db.require_schema()
    with db.transaction() as session:
        user = staff.by_username(session, staff.normalize_username(username))
        if user is None:
            raise click.ClickException(f"No staff user named {username!r}.")
        staff.set_active(session, user, False, "cli")
    click.echo(f"Staff user {user.username!r} is disabled.")


@staff_cli.command("reset")
@click.argument("username")
def reset_command(username: str) -> None:
    """Give a staff user a new one-time password and TOTP secret (a lost phone or password)."""
    db.require_schema()
    with db.transaction() as session:
        user = staff.by_username(session, staff.normalize_username(username))
        if user is None:
            raise click.ClickException(f"No staff user named {username!r}.")
        new = staff.reset(session, user, "cli")
    click.echo(f"Staff user {user.username!r} has a new TOTP secret; the old codes stop working.")
    click.echo(new.totp_uri)
    click.echo("The new one-time password follows. It is shown only this once.")
    click.echo(new.password)
