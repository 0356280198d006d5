"""Test apps: where the real servers are, and an app whose files all live in one temporary place."""

import os
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from identity import db, signing
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


def https_client(app: Flask) -> FlaskClient:
    """Return a test client whose requests arrive over https."""
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    return client
