"""`hawiya audit verify | head`: check the audit log's chain, print its signed head."""

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from identity import clock, db, signing
from identity.audit import chain
from identity.audit import head as audit_head

audit_cli = AppGroup("audit", help="Check the tamper-evident audit log.")


@audit_cli.command("verify")
@click.option(
    "--against",
    metavar="HEAD",
    help="A signed head published earlier (the token, or a file holding it): "
    "also check that the log still holds that entry unchanged.",
)
def verify_command(against: str | None) -> None:
    """Check the hash chain and name the first broken entry."""
    db.require_schema()
    if against is None:
        result = chain.verify_chain(db.session())
    else:
        token = _read_head_argument(against)
        try:
            result = audit_head.verify_against(db.session(), token)
        except signing.TokenRejected:
            raise click.ClickException(
                "That is not a signed audit head of ours (or its key was retired)."
            ) from None
    if result.ok:
        click.echo(f"Audit chain intact: {result.checked} entries.")
        if against is not None:
            click.echo("It still holds the published head.")
        return
    click.echo(f"Audit chain broken at entry {result.first_broken_id}: {result.reason}")
    raise SystemExit(1)


def _read_head_argument(value: str) -> str:
    """Take the token itself, or read it from a file (the endpoint's JSON or the bare token)."""
    path = Path(value)
    try:
        is_file = path.is_file()
    except OSError:  # e.g. a token longer than a file name may be
        is_file = False
    if is_file:
        if path.stat().st_size > 64 * 1024:
            raise click.ClickException(f"{path} is too large to be a signed audit head.")
        text_ = path.read_text(encoding="utf-8", errors="replace").strip()
        if text_.startswith("{"):
            try:
                return str(json.loads(text_)["token"])
            except (ValueError, KeyError, TypeError):
                raise click.ClickException(f"{path} holds JSON without a token.") from None
        return text_
    return value


@audit_cli.command("head")
def head_command() -> None:
    """Print the signed head of the log (archive it daily, away from the database)."""
    db.require_schema()
    head_ = audit_head.signed_head(db.session())
    signed_at = clock.named(head_.at, "en")
    click.echo(f"Entry {head_.entry}, hash {head_.hash}, signed at {signed_at}:")
    click.echo(head_.token)
