"""`hawiya keys`: list, rotate and retire the signing keys (identity.digital_id.signing_keys)."""

import click
from flask.cli import AppGroup

from identity import clock, db, signing
from identity.digital_id import signing_keys

keys_cli = AppGroup("keys", help="List, rotate and retire the signing keys.")


@keys_cli.command("list")
def list_command() -> None:
    """Show every key with its state and creation time, oldest first."""
    keys = signing.list_keys()
    if not keys:
        click.echo(f"No signing keys in {signing.keys_dir()}: run `hawiya init`.")
        return
    width = max(len(info.kid) for info in keys)
    click.echo(f"{'KID':<{width}}  {'STATE':<11}  CREATED ({clock.zone_label('en')})")
    for info in keys:
        created = clock.datetime_text(info.created, seconds=True)
        click.echo(f"{info.kid:<{width}}  {info.state:<11}  {created}")


@keys_cli.command("rotate")
def rotate_command() -> None:
    """Create a new signing key; older keys keep verifying until retired. Prints the new kid."""
    db.require_schema()
    with db.transaction():
        kid = signing_keys.rotate("cli")
    click.echo("New active signing key; the previous keys now only verify until retired:")
    click.echo(kid)  # alone on the last line, for scripts


# A kid is a base64url thumbprint: one in 64 starts with "-", which must read as the KID, not as
# an option.
@keys_cli.command("retire", context_settings={"ignore_unknown_options": True})
@click.argument("kid")
def retire_command(kid: str) -> None:
    """Retire KID: drop it from the JWKS and stop accepting tokens it signed."""
    db.require_schema()
    already = any(info.kid == kid and info.state == "retired" for info in signing.list_keys())
    if already:
        signing.retire(kid)  # nothing changes, so nothing to audit
    else:
        # KeyRefused for the active key or an unknown kid: exit status 1
        with db.transaction():
            signing_keys.retire(kid, "cli")
    if already:
        click.echo(f"Key {kid} was already retired.")
    else:
        click.echo(f"Retired key {kid}: it left the JWKS and tokens it signed no longer verify.")
