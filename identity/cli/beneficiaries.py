"""`hawiya beneficiaries import`: load the register from CSV, with a progress bar and a summary."""

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from identity import db
from identity.register.csv_import import ImportRefused, ImportResult, import_csv, text_codec

beneficiaries_cli = AppGroup("beneficiaries", help="Manage the beneficiary register.")
ACTOR = "cli"


def print_summary(result: ImportResult, label: str) -> None:
    """Print what an import did, and where the rejected rows went."""
    click.echo(
        f"{label}: {result.created} new, {result.updated} updated, {result.unchanged} unchanged, "
        f"{result.rejected} rejected"
        + (f", {result.blank_lines} blank lines skipped" if result.blank_lines else "")
        + "."
    )
    told_line = old_numbers_line(result)
    if told_line:
        click.echo(told_line)
    if result.rejects_path:
        for line, reason in result.rejects[:5]:
            click.echo(f"  line {line}: {reason}", err=True)
        if result.rejected > 5:
            click.echo(f"  … and {result.rejected - 5} more.", err=True)
        click.echo(f"Every rejected row, with its line number and reason: {result.rejects_path}")


def old_numbers_line(result: ImportResult) -> str | None:
    """Say how many replaced phone numbers were told of the change (None when there were none)."""
    told, failed = result.old_numbers.told, result.old_numbers.failed
    parts = []
    if told:
        parts.append(
            f"Told {told} old mobile number that it no longer receives codes."
            if told == 1
            else f"Told {told} old mobile numbers that they no longer receive codes."
        )
    if failed:
        parts.append(
            f"{failed} old mobile number{'' if failed == 1 else 's'} could not be told: "
            "the SMS gateway failed (see the log)."
        )
    return " ".join(parts) or None


def run_import(path: Path, encoding: str | None, actor: str = ACTOR) -> ImportResult:
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

        return import_csv(db.session(), path, actor, encoding=encoding, progress=advance)


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
