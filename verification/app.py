"""The application factory and the `hawiya` command: the composition root.

It lives in `verification`, the outer layer: the only package allowed to import both sides. It
reads the configuration, starts the foundations (database, store, SMS, counters), and hands the
app to identity.web.blueprints, verification.web.blueprints and identity.cli.commands.
"""

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup
from werkzeug.middleware.proxy_fix import ProxyFix

from identity import db, metrics, sms, store
from identity.cli import commands
from identity.config import (
    DEFAULTS,
    PROJECT_ROOT,
    ConfigError,
    check,
    load_secret_key,
    resolve_paths,
    resolve_trusted_hosts,
)
from identity.signin import otp
from identity.signing import check_keys_dir
from identity.web import blueprints as issuing_blueprints
from verification import serve
from verification.web import blueprints as checking_blueprints


def templates_folder() -> Path:
    """Return the checkout's top-level templates, or the copy an installed wheel carries here."""
    checkout = PROJECT_ROOT / "templates"
    return checkout if checkout.is_dir() else Path(__file__).resolve().parent / "templates"


class HawiyaFlask(Flask):
    """Flask, asking once per function whether it is a coroutine (Flask asks on every call)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Return func, or its synchronous wrapper if it is a coroutine function (Flask's rule)."""
        try:
            return self._sync[func]
        except KeyError:
            sync = self._sync[func] = super().ensure_sync(func)
            return sync


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app from the defaults, HAWIYA_* variables and test_config; refuse bad settings."""
    app = HawiyaFlask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(templates_folder()),
    )
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("HAWIYA")
    if test_config:
        app.config.from_mapping(test_config)
    instance = Path(app.instance_path)
    resolve_paths(app.config, instance)
    check(app.config)
    resolve_trusted_hosts(app.config)
    load_secret_key(app.config, instance)
    check_keys_dir(Path(app.config["KEYS_DIR"]))

    if app.config["TRUSTED_PROXIES"]:
        # Only as many X-Forwarded-For hops as we were told to trust; the rest is ignored.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    db.init_app(app)
    store.init_app(app)
    sms.init_app(app)
    otp.init_app(app)
    metrics.init_app(app)
    issuing_blueprints.install_edges(app)
    issuing_blueprints.register(app)
    checking_blueprints.register(app)
    commands.register(app)
    app.cli.add_command(commands.answering_refusals(serve.serve_command))
    return app


def create_app_for_command_line() -> Flask:
    """Build the app for `hawiya`: a setting that stops the start is the command's error."""
    try:
        return create_app()
    except ConfigError as refused:
        raise commands.as_click_error(refused) from None


CLI_HELP = """Hawiya: digital IDs and document verification for government benefits agencies.

Start with `hawiya init` (the schema and a signing key), then `hawiya demo` (a demo register, an
agency, a staff user and a stamped document) and `hawiya run` (a development server on
http://127.0.0.1:5000), or `make run` for all three. Settings are HAWIYA_* environment variables
(README, "Configuration"). `hawiya COMMAND --help` tells more of each command.
"""

# The commands in the order a newcomer meets them, under a heading each; a command not named
# here (a new one) is listed under "Other".
SECTIONS = (
    ("Getting started", ("init", "demo", "run", "serve")),
    ("The register and its digital IDs", ("beneficiaries", "credentials", "document-types")),
    ("Access", ("agencies", "staff", "tokens", "keys")),
    ("Audit", ("audit",)),
    ("For developers", ("db", "routes", "shell")),
)
# Flask's options for finding an app: Hawiya names its own, so they only clutter the help.
HIDDEN_OPTIONS = ("env_file", "app")


class HawiyaGroup(FlaskGroup):
    """The `hawiya` command: Flask's group, with a help that says what Hawiya is and does."""

    def __init__(self, **extra: Any) -> None:
        super().__init__(**extra)
        self.params = [self._shown(param) for param in self.params]

    @staticmethod
    def _shown(param: click.Parameter) -> click.Parameter:
        """Return param, or a hidden copy of Flask's generic app-finding options (they work)."""
        if isinstance(param, click.Option) and param.name in HIDDEN_OPTIONS:
            param = copy.copy(param)
            param.hidden = True
        return param

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands by section, each with its help's first sentence (wrapped, not cut)."""
        commands = {}
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                commands[name] = command
        named = {name for _title, names in SECTIONS for name in names}
        sections = [*SECTIONS, ("Other", tuple(sorted(set(commands) - named)))]
        for title, names in sections:
            rows = [
                (name, commands[name].get_short_help_str(200)) for name in names
                if name in commands
            ]  # fmt: skip
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


cli = HawiyaGroup(
    create_app=create_app_for_command_line,
    add_version_option=False,
    load_dotenv=False,
    help=CLI_HELP,
)
