"""Every `hawiya` command of the issuing side; `register(app)` adds them to the app.

A command refused by a service (an `identity.errors.Refused`) or by the configuration (a
`ConfigError`) stops here, in one place: its message is printed as the command's error and it
exits with status 1 (2 for a setting, as click does for a usage error).
"""

import functools
from collections.abc import Callable
from typing import Any

import click
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
from identity.config import ConfigError
from identity.errors import Refused

COMMANDS = (
    schema.init_command, schema.db_cli, demo.demo_command, beneficiaries.beneficiaries_cli,
    credentials.credentials_cli, agencies.agencies_cli, tokens.tokens_cli, staff.staff_cli,
    keys.keys_cli, audit.audit_cli, document_types.document_types_cli,
)  # fmt: skip


class SettingError(click.ClickException):
    """A setting that stops the command: exit status 2, as for a usage error."""

    exit_code = 2


def as_click_error(refused: Refused | ConfigError) -> click.ClickException:
    """Return the command-line error that says a refusal: its message, and its exit status."""
    if isinstance(refused, ConfigError):
        return SettingError(refused.message)
    return click.ClickException(refused.message)


def _refusals_answered(callback: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a command's callback so that a refusal ends it as a command-line error."""

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except (Refused, ConfigError) as refused:
            raise as_click_error(refused) from None

    run.answers_refusals = True  # type: ignore[attr-defined]
    return run


def answering_refusals(command: click.Command) -> click.Command:
    """Make command, and every subcommand of a group, answer refusals as errors (once)."""
    callback = command.callback
    if callback is not None and not getattr(callback, "answers_refusals", False):
        command.callback = _refusals_answered(callback)
    if isinstance(command, click.Group):
        for subcommand in command.commands.values():
            answering_refusals(subcommand)
    return command


def register(app: Flask) -> None:
    """Add every `hawiya` command to the app's command line."""
    for command in COMMANDS:
        app.cli.add_command(answering_refusals(command))
