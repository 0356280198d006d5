"""The `hawiya` commands, one module per command group; `register(app)` adds them all."""

from flask import Flask

from identity.cli import (
    agencies,
    audit,
    beneficiaries,
    credentials,
    demo,
    document_types,
    keys,
    schema,
    staff,
    tokens,
)

COMMANDS = (
    schema.init_command, schema.db_cli, demo.demo_command, beneficiaries.beneficiaries_cli,
    credentials.credentials_cli, agencies.agencies_cli, tokens.tokens_cli, staff.staff_cli,
    keys.keys_cli, audit.audit_cli, document_types.document_types_cli,
)  # fmt: skip


def register(app: Flask) -> None:
    """Add every `hawiya` command to the app's command line."""
    for command in COMMANDS:
        app.cli.add_command(command)
