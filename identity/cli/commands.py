"""The `hawiya` commands that manage the schema, the keys and the register."""

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from identity import agencies, civil_id, credentials, db, signing, staff, tokens
from identity.beneficiaries import find
from identity.models import Agency
from identity.register_import import ImportRefused, ImportResult, import_csv, text_codec

DEMO_REGISTER = Path(__file__).resolve().parent / "demo" / "beneficiaries.csv"
DEMO_AGENCY = "Demo Agency"
DEMO_STAFF = "demo-admin"

beneficiaries_cli = AppGroup("beneficiaries", help="Manage the beneficiary register.")
db_cli = AppGroup("db", help="Schema migrations (for developers).")
credentials_cli = AppGroup("credentials", help="Issue digital IDs.")
tokens_cli = AppGroup("tokens", help="API tokens for the agency's systems (back office, metrics).")
agencies_cli = AppGroup("agencies", help="Agencies that verify through the API, and their keys.")


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


def print_summary(result: ImportResult, label: str) -> None:
    """Print what an import did, and where the rejected rows went."""
    click.echo(
        f"{label}: {result.created} new, {result.updated} updated, {result.unchanged} unchanged, "
        f"{result.rejected} rejected"
        + (f", {result.blank_lines} blank lines skipped" if result.blank_lines else "")
        + "."
    )
    if result.rejects_path:
        for line, reason in result.rejects[:5]:
            click.echo(f"  line {line}: {reason}", err=True)
        if result.rejected > 5:
            click.echo(f"  … and {result.rejected - 5} more.", err=True)
        click.echo(f"Every rejected row, with its line number and reason: {result.rejects_path}")


def run_import(path: Path, encoding: str | None) -> ImportResult:
    """Import a register CSV with a progress bar on the terminal."""
    db.require_schema()
    size = path.stat().st_size if path.exists() else 0
    stderr = sys.stderr
    with click.progressbar(
        length=size, label="Importing", file=stderr, hidden=not stderr.isatty()
    ) as bar:
        position = 0

        def advance(done: int) -> None:
            nonlocal position
            bar.update(done - position)
            position = done

        try:
            return import_csv(db.session(), path, encoding=encoding, progress=advance)
        except ImportRefused as exc:
            raise click.ClickException(str(exc)) from None


def encoding_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """Check --encoding before anything is read: a usage error (exit 2), not a traceback."""
    if not value:
        return None
    try:
        return text_codec(value)
    except ImportRefused as exc:
        raise click.BadParameter(str(exc)) from None


@beneficiaries_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--encoding",
    callback=encoding_option,
    help="The file's text encoding when it is not UTF-8 (e.g. windows-1256).",
)
def import_command(file: Path, encoding: str | None) -> None:
    """Upsert beneficiaries from FILE.csv; rejected rows go to FILE.rejects.csv."""
    result = run_import(file, encoding)
    print_summary(result, f"Imported {result.imported} of {result.imported + result.rejected} rows")
    if result.rejected:
        raise SystemExit(1)


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the synthetic demo register and say how to try the service."""
    result = run_import(DEMO_REGISTER, None)
    print_summary(result, "Demo register")
    if result.rejected:
        raise SystemExit(1)
    with DEMO_REGISTER.open(encoding="utf-8") as demo:
        demo.readline()
        civil_id, file_number, _ar, name_en, *_ = demo.readline().split(",")
    issued = credentials.issue_all("demo")
    session = db.session()
    agency = agencies.by_name(session, DEMO_AGENCY)
    if agency is None:
        key = agencies.create(session, DEMO_AGENCY, "Demonstration", "name,status", "demo").key
    else:
        key = agencies.rotate_key(session, agency, "demo")
    user = staff.by_username(session, DEMO_STAFF)
    if user is None:
        admin = staff.create(session, DEMO_STAFF, "admin", "demo")
    else:
        staff.set_active(session, user, True, "demo")
        admin = staff.reset(session, user, "demo")
    session.commit()
    url = current_app.config["PUBLIC_URL"]
    click.echo(f"Digital IDs issued: {issued}.")
    click.echo(f"Open {url}/login — a demo beneficiary: {name_en}, civil ID {civil_id}, "
               f"file number {file_number}; the SMS code is printed on this console.")  # fmt: skip
    click.echo(f"Staff console: {url}/staff/login — username {DEMO_STAFF}, password "
               f"{admin.password}, TOTP secret {admin.user.totp_secret} (add it to an "
               f"authenticator app, or: {sys.executable} -c \"import pyotp; "
               f"print(pyotp.TOTP('{admin.user.totp_secret}').now())\").")  # fmt: skip
    click.echo(f"Agency {DEMO_AGENCY!r} verifies at {url}/api/v1/verify with this API key:")
    click.echo(key)


@credentials_cli.command("issue")
@click.argument("civil_id_arg", metavar="CIVIL_ID", required=False)
@click.option("--all", "issue_all", is_flag=True, help="Everyone in the register who has none.")
def issue_command(civil_id_arg: str | None, issue_all: bool) -> None:
    """Issue a digital ID to one beneficiary (CIVIL_ID) or to everyone who has none (--all)."""
    if issue_all == bool(civil_id_arg):
        raise click.UsageError("Give either a CIVIL_ID or --all.")
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
    session = db.session()
    person = find(session, canonical)
    if person is None:
        raise click.ClickException(f"No beneficiary with civil ID {civil_id.mask(canonical)}.")
    before = credentials.current(session, person.id)
    credential = credentials.issue(session, person, actor)
    session.commit()
    if before is not None and before.id == credential.id:
        click.echo(f"{civil_id.mask(canonical)} already has digital ID {credential.id} "
                   f"({credential.status}).")  # fmt: skip
    else:
        click.echo(f"Issued digital ID {credential.id} to {civil_id.mask(canonical)}.")


@agencies_cli.command("create")
@click.argument("name")
@click.option("--purpose", required=True, help="Why this agency verifies, in a sentence.")
@click.option("--scope", required=True, help="Attributes it may see, e.g. name,status.")
@click.option("--rate-limit", default=agencies.DEFAULT_RATE_LIMIT, show_default=True,
              help="Verifications per minute.")  # fmt: skip
def agency_create_command(name: str, purpose: str, scope: str, rate_limit: int) -> None:
    """Register an agency; its API key is printed once, alone on the last line."""
    db.require_schema()
    session = db.session()
    try:
        new = agencies.create(session, name, purpose, scope, "cli", rate_limit)
    except agencies.InvalidAgency as exc:
        raise click.ClickException(str(exc)) from None
    session.commit()
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
    session = db.session()
    agency = agencies.by_name(session, name)
    if agency is None:
        raise click.ClickException(f"No agency named {name!r}.")
    agencies.set_active(session, agency, False, "cli")
    session.commit()
    click.echo(f"Agency {name!r} is disabled; its key no longer works.")


@tokens_cli.command("create")
@click.option("--role", type=click.Choice(tokens.ROLES), required=True)
def token_create_command(role: str) -> None:
    """Create an API token of a role; it is printed once, alone on the last line."""
    db.require_schema()
    session = db.session()
    new = tokens.create(session, role, "cli")
    session.commit()
    click.echo(f"A {role} token (id {new.record.id}) follows. It is shown only this once.")
    click.echo(new.token)


@db_cli.command("revision")
@click.argument("message")
@click.option("--autogenerate", is_flag=True, help="Compare the models with the database.")
def revision_command(message: str, autogenerate: bool) -> None:
    """Write a new migration file in identity/migrations/versions/."""
    db.new_revision(db.get_db().engine, message, autogenerate)


def init_app(app: Flask) -> None:
    """Register the commands on the app's CLI."""
    for command in (
        *(init_command, demo_command, beneficiaries_cli, credentials_cli),
        *(agencies_cli, tokens_cli, db_cli),
    ):
        app.cli.add_command(command)
