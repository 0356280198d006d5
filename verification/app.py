"""The application factory and the `hawiya` command.

It lives in `verification`, the outer layer: the only package allowed to import both sides.
"""

from pathlib import Path
from typing import Any

from flask import Flask
from flask.cli import FlaskGroup
from werkzeug.middleware.proxy_fix import ProxyFix

from identity import (
    audit_cli,
    audit_head,
    backoffice_api,
    card,
    commands,
    console,
    console_admin,
    csrf,
    db,
    document_types,
    document_types_api,
    document_types_cli,
    errors,
    headers,
    health,
    history,
    holder_api,
    holder_documents,
    home,
    i18n,
    inputs,
    jwks,
    keys_cli,
    login,
    metrics,
    otp,
    sms,
    staff,
    status_list,
    store,
)
from identity.config import (
    DEFAULTS,
    PROJECT_ROOT,
    check,
    load_secret_key,
    resolve_paths,
    resolve_trusted_hosts,
)
from identity.signing import check_keys_dir
from verification import api, documents_pages, pages, scan, serve


def templates_folder() -> Path:
    """Return the checkout's top-level templates, or the copy an installed wheel carries here."""
    checkout = PROJECT_ROOT / "templates"
    return checkout if checkout.is_dir() else Path(__file__).resolve().parent / "templates"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app from the defaults, HAWIYA_* variables and test_config; refuse bad settings."""
    app = Flask(
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

    inputs.init_app(app)  # first: its `<int:…>` converter must precede every route
    db.init_app(app)
    store.init_app(app)
    sms.init_app(app)
    otp.init_app(app)
    i18n.init_app(app)
    document_types.init_app(app)
    csrf.init_app(app)
    headers.init_app(app)
    errors.register(app)
    metrics.init_app(app)
    blueprints = (
        *(health, home, login, holder_api, card, history, holder_documents, jwks),
        *(backoffice_api, document_types_api, pages, documents_pages, api, scan, status_list),
        *(console, console_admin),
    )
    for module in blueprints:
        app.register_blueprint(module.bp)
    commands.init_app(app)
    audit_cli.init_app(app)
    audit_head.init_app(app)
    keys_cli.init_app(app)
    document_types_cli.init_app(app)
    staff.init_app(app)
    app.cli.add_command(serve.serve_command)
    return app


cli = FlaskGroup(create_app=create_app, add_version_option=False, load_dotenv=False)
