"""Shared fixtures: apps on SQLite with the in-process store, and on PostgreSQL with Redis."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import text
from sqlalchemy.engine import make_url

from identity import db, signing
from identity.models import Beneficiary
from verification.app import create_app

POSTGRES_URL = os.environ.get(
    "HAWIYA_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/hawiya_test"
)
REDIS_URL = os.environ.get("HAWIYA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TABLES = (
    "staff_users",
    "document_files",
    "documents",
    "api_tokens",
    "verification_events",
    "agencies",
    "audit_events",
    "credentials",
    "accounts",
    "beneficiaries",
)


def unavailable(message: str) -> None:
    """Fail in CI, where the real servers must be tested; skip elsewhere, saying why."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI must test against the real server)")
    pytest.skip(message)


def empty_postgres_database(database_url: str) -> str:
    """Create the database of this URL if needed and empty its schema; return the URL."""
    url = make_url(database_url)
    try:
        admin = psycopg.connect(
            host=url.host, port=url.port or 5432, user=url.username, dbname="postgres",
            autocommit=True, connect_timeout=3,
        )  # fmt: skip
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL is not reachable at {url.host}:{url.port}: {exc}")
    with admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)
        ).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{url.database}"')
    engine = db.make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return database_url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """Create the test database once (if needed) and give it an empty, migrated schema."""
    empty_postgres_database(POSTGRES_URL)
    engine = db.make_engine(POSTGRES_URL)
    db.upgrade(engine)
    engine.dispose()
    return POSTGRES_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Check that the real Redis answers."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        unavailable(f"Redis is not reachable at {REDIS_URL}: {exc}")
    finally:
        client.close()
    return REDIS_URL


def make_app(tmp_path: Path, **config: Any) -> Flask:
    """Create a testing app whose files all live under tmp_path, with a signing key."""
    if not (tmp_path / "keys").exists():
        signing.create_key(tmp_path / "keys")
    settings: dict[str, Any] = {
        "ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret-" + uuid4().hex,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'hawiya.sqlite3'}",
        "REDIS_URL": None,
        "KEYS_DIR": str(tmp_path / "keys"),
        "SMS_BACKEND": "recording",
    }
    settings.update(config)
    return create_app(settings)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """An app on a fresh SQLite file and the in-process store, its schema migrated."""
    application = make_app(tmp_path)
    with application.app_context():
        db.upgrade(db.get_db().engine)
    yield application
    application.extensions["hawiya.db"].engine.dispose()


@pytest.fixture
def keyless_app(tmp_path: Path) -> Iterator[Flask]:
    """An app like `app`, before `hawiya init` made its first signing key."""
    (tmp_path / "keys").mkdir()
    application = make_app(tmp_path)
    with application.app_context():
        db.upgrade(db.get_db().engine)
    yield application
    application.extensions["hawiya.db"].engine.dispose()


@pytest.fixture(params=["sqlite+memory", "postgresql+redis"])
def any_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """The same app on each pair of backends: the embedded default and the production one."""
    if request.param == "sqlite+memory":
        yield request.getfixturevalue("app")
        return
    prefix = f"test:{uuid4().hex}:"
    application = make_app(
        tmp_path,
        DATABASE_URL=request.getfixturevalue("postgres_url"),
        REDIS_URL=request.getfixturevalue("redis_url"),
        STORE_PREFIX=prefix,
    )
    yield application
    engine = application.extensions["hawiya.db"].engine
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        # The document types the migration seeded stay; those a test added go.
        connection.execute(text("DELETE FROM document_types WHERE created_by <> 'migration'"))
    engine.dispose()
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser on https (the session cookies are Secure and `__Host-`)."""
    return https_client(app)


def https_client(app: Flask) -> FlaskClient:
    """Return a test client whose requests arrive over https."""
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    return client


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def count_beneficiaries() -> Callable[[Flask], int]:
    """Count the register's rows in an app."""

    def count(application: Flask) -> int:
        with application.app_context():
            return db.session().query(Beneficiary).count()

    return count


@pytest.fixture
def world(app: Flask) -> Flask:
    """Fatima in the register with an active digital ID."""
    from tests.helpers import FATIMA, add_people, issue_ids

    add_people(app, FATIMA)
    issue_ids(app, FATIMA)
    return app
