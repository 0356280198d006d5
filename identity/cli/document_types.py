"""`hawiya document-types`: list and add the agency's kinds of document."""

import click
from flask.cli import AppGroup

from identity import db
from identity.documents import document_types

document_types_cli = AppGroup("document-types", help="The agency's kinds of document.")


@document_types_cli.command("list")
def list_command() -> None:
    """Show every document type: its key, then its English and Arabic labels."""
    db.require_schema()
    found = document_types.list_types(db.session())
    if not found:
        click.echo("No document types: add one with `hawiya document-types add`.")
        return
    width = max(len(labels.key) for labels in found)
    click.echo(f"{'KEY':<{width}}  ENGLISH | ARABIC")
    for labels in found:
        click.echo(f"{labels.key:<{width}}  {labels.label_en} | {labels.label_ar}")


@document_types_cli.command("add")
@click.argument("key")
@click.option("--label-ar", required=True, help="The label in Arabic.")
@click.option("--label-en", required=True, help="The label in English.")
def add_command(key: str, label_ar: str, label_en: str) -> None:
    """Add the document type KEY (a-z, digits, '_' or '-'), audited."""
    db.require_schema()
    with db.transaction() as session:
        added = document_types.add(session, key, label_ar, label_en, "cli")
    click.echo(f"Added document type {added.key}: {added.label_en} | {added.label_ar}.")
