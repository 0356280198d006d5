"""`hawiya demo`: load the demo register and the rest of the demo; say how to try the service."""

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from identity.cli.beneficiaries import print_summary, run_import
from identity.demo import loader


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the synthetic demo register and say how to try the service."""
    result = run_import(loader.REGISTER, None, loader.ACTOR)
    print_summary(result, "Demo register")
    if result.rejected:
        raise SystemExit(1)
    demo = loader.load()
    person, admin, secret = demo.person, demo.admin, demo.admin.user.totp_secret
    url = current_app.config["PUBLIC_URL"]
    click.echo(f"Digital IDs issued: {demo.issued}.")
    click.echo(f"Open {url}/login — a demo beneficiary: {person.name_en}, civil ID "
               f"{person.civil_id}, file number {person.file_number}; the SMS code is printed "
               "on this console.")  # fmt: skip
    code_now = f"{sys.executable} -c \"import pyotp; print(pyotp.TOTP('{secret}').now())\""
    click.echo(f"Staff console: {url}/staff/login — username {loader.STAFF}, password "
               f"{admin.password}, TOTP secret {secret} (add it to an authenticator app, or: "
               f"{code_now}).")  # fmt: skip
    click.echo(f"Agency {loader.AGENCY!r} verifies at {url}/api/v1/verify with this API key:")
    click.echo(demo.agency_key)
