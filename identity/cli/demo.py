"""`hawiya demo`: load the demo once, then say what it holds and how to try the service.

The first run imports the demo register, issues the digital IDs, and makes the demo agency, its
staff user and a stamped document; it prints the secrets made (API key, password, TOTP secret)
once. Every later run changes nothing and prints what the demo holds. `hawiya demo --reset`
re-issues the demo's credentials (the old ones stop working) and prints the new ones.
"""

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from identity import db
from identity.cli.beneficiaries import print_summary, run_import
from identity.demo import loader

RESET_HINT = (
    "The agency's API key and the password and TOTP secret of {staff} were shown once, when "
    "they were made, and are not shown again (the key and the password are kept only as "
    "hashes). For new ones (the old ones stop working): hawiya demo --reset"
)


@click.command("demo")
@click.option(
    "--reset",
    is_flag=True,
    help="Re-issue the demo's API key, staff password and TOTP secret (the old ones stop "
    "working); nothing else changes.",
)
@with_appcontext
def demo_command(reset: bool) -> None:
    """Load the synthetic demo once; later runs change nothing and say what it holds."""
    db.require_schema()
    if not loader.loaded():
        result = run_import(loader.REGISTER, None, loader.ACTOR)
        print_summary(result, "Demo register")
        if result.rejected:
            raise SystemExit(1)
        made = loader.load()
        click.echo("The demo is loaded.")
    elif reset:
        made = loader.reset()
        click.echo(
            "Re-issued the demo's credentials: the old API key, password and TOTP secret no "
            "longer work. Nothing else was changed."
        )
    else:
        made = loader.Secrets()
        click.echo("The demo was loaded before: nothing was changed.")
    holds = loader.holdings()
    print_holdings(holds)
    print_secrets(made, holds)


def print_holdings(holds: loader.Holdings) -> None:
    """Say what the demo holds and where to go to try each role."""
    url = current_app.config["PUBLIC_URL"].rstrip("/")
    person, document = holds.person, holds.document
    click.echo(
        f"It holds {holds.beneficiaries} beneficiaries with {holds.digital_ids} digital IDs, "
        f"the agency {holds.agency!r}"
        + ("" if holds.agency_active else " (disabled)")
        + f", the staff user {holds.staff}"
        + ("" if holds.staff_active else " (disabled)")
        + (f" and the document {document.number}" if document else "")
        + "."
    )
    click.echo("Try it:")
    click.echo(f"  Front page:       {url}/")
    click.echo(
        f"  Beneficiary:      {url}/login — civil ID {person.civil_id}, file number "
        f"{person.file_number} ({person.name_en}); the SMS code is printed on the server's console."
    )
    click.echo(f"  Verify an ID:     {url}/scan — the QR of the beneficiary's card ({url}/me/card)")
    if document is not None:
        code = document.code or "printed on the document's PDF"
        click.echo(
            f"  Check a document: {url}/d — document number {document.number}, code {code}"
            + ("" if document.status == "valid" else f" (now {document.status})")
        )
        click.echo(f"                    or its QR's address: {document.url}")
    click.echo(f"  Staff console:    {url}/staff/ — username {holds.staff or loader.STAFF}")
    click.echo(f"  API:              {url}/api/v1/verify — documentation at {url}/api/docs")


def print_secrets(made: loader.Secrets, holds: loader.Holdings) -> None:
    """Print the secrets made just now (once), or say how to get new ones."""
    url = current_app.config["PUBLIC_URL"].rstrip("/")
    if made.admin is not None:
        secret = made.admin.user.totp_secret
        code_now = f"{sys.executable} -c \"import pyotp; print(pyotp.TOTP('{secret}').now())\""
        click.echo("Shown this once: keep them now.")
        click.echo(
            f"Staff console: {url}/staff/login — username {made.admin.user.username}, password "
            f"{made.admin.password}, TOTP secret {secret} (add it to an authenticator app, or: "
            f"{code_now})."
        )
    if made.agency_key is not None:
        click.echo(f"Agency {loader.AGENCY!r} verifies at {url}/api/v1/verify with this API key:")
        click.echo(made.agency_key)
    if made.admin is None and made.agency_key is None:
        click.echo(RESET_HINT.format(staff=holds.staff or loader.STAFF))
