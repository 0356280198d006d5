"""Shared fixtures: apps on SQLite with the in-process store, and on PostgreSQL with Redis."""

from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import uuid4

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import text

from identity import db
from identity.models import Beneficiary
from tests.apps import (
    POSTGRES_URL,
    REDIS_URL,
    TABLES,
    empty_postgres_database,
    https_client,
    make_app,
    unavailable,
)


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
    from tests.factories import FATIMA, add_people, issue_ids

    add_people(app, FATIMA)
    issue_ids(app, FATIMA)
    return app
