"""`hawiya init`: migrations are the schema, and running it again changes nothing."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import Flask

from identity import db
from identity.db import Base


def test_init_is_idempotent(any_app: Flask) -> None:
    runner = any_app.test_cli_runner()
    first = runner.invoke(args=["init"])
    second = runner.invoke(args=["init"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "Schema is up to date" in second.output
    assert "Signing keys present" in second.output


def test_init_creates_a_signing_key_once(keyless_app: Flask) -> None:
    runner = keyless_app.test_cli_runner()
    assert "Created signing key" in runner.invoke(args=["init"]).output
    assert "Created signing key" not in runner.invoke(args=["init"]).output


def test_the_migrations_match_the_models(any_app: Flask) -> None:
    """Prevents a model change shipped without its migration."""
    with any_app.app_context():
        engine = db.get_db().engine
        db.upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []


def test_demo_loads_the_shipped_register_and_says_how_to_try_it(app: Flask) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "200 new" in first.output and "civil ID" in first.output
    assert "200 beneficiaries with 200 digital IDs" in first.output
    first_key = first.output.strip().splitlines()[-1]
    assert first_key.startswith("hwy_")
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert "nothing was changed" in again.output and "200 new" not in again.output
    assert first_key not in again.output  # shown once; `hawiya demo --reset` gives a new one
