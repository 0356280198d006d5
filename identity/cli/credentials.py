"""`hawiya credentials issue`: a digital ID for one beneficiary, or for everyone who has none."""

import sys

import click
from flask.cli import AppGroup

from identity import civil_id, db, signing
from identity.digital_id import credentials
from identity.register.beneficiaries import find

credentials_cli = AppGroup("credentials", help="Issue digital IDs.")


class OneOrAll(click.Command):
    """A command for one beneficiary or for all: its usage reads `[--all | CIVIL_ID]`."""

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return ["[--all | CIVIL_ID]"]


@credentials_cli.command("issue", cls=OneOrAll)
@click.argument("civil_id_arg", metavar="CIVIL_ID", required=False)
@click.option("--all", "issue_all", is_flag=True, help="Everyone in the register who has none.")
def issue_command(civil_id_arg: str | None, issue_all: bool) -> None:
    """Issue a digital ID to one beneficiary (CIVIL_ID) or to everyone who has none (--all)."""
    if issue_all and civil_id_arg:
        raise click.UsageError("Give --all or a CIVIL_ID, not both.")
    if not issue_all and not civil_id_arg:
        raise click.UsageError(
            "Give a CIVIL_ID (one beneficiary), or --all (everyone who has no digital ID)."
        )
    db.require_schema()
    signing.active_kid()  # fail early, with advice, when there is no key yet
    actor = "cli"
    if issue_all:
        stderr = sys.stderr
        total = credentials.count_without_credential()
        with click.progressbar(
            length=total, label="Issuing", file=stderr, hidden=not stderr.isatty()
        ) as bar:
            issued = credentials.issue_all(actor, progress=bar.update)
        click.echo(f"Issued {issued} digital IDs; everyone in the register now has one.")
        return
    try:
        canonical = civil_id.parse(civil_id_arg or "")
    except civil_id.InvalidCivilId as exc:
        raise click.BadParameter(exc.reason, param_hint="CIVIL_ID") from None
    with db.transaction() as session:
        person = find(session, canonical)
        if person is None:
            raise click.ClickException(f"No beneficiary with civil ID {civil_id.mask(canonical)}.")
        before = credentials.current(session, person.id)
        credential = credentials.issue(session, person, actor)
    if before is not None and before.id == credential.id:
        click.echo(f"{civil_id.mask(canonical)} already has digital ID {credential.id} "
                   f"({credential.status}).")  # fmt: skip
    else:
        click.echo(f"Issued digital ID {credential.id} to {civil_id.mask(canonical)}.")
