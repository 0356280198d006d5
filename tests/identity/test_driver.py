"""identity.driver: rows written on the driver are stored as the ORM stores them; errors as its."""

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from identity import db, driver
from identity.models import VerificationEvent
from verification.checks import INSERT_EVENT, Statements

AT = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
EVENT = {
    "at": AT, "kind": "id_card", "subject_ref": "x", "beneficiary_id": None,
    "agency_id": None, "channel": "page", "purpose": "driver test", "result": "not_found",
}  # fmt: skip


def stored_at(app: Flask) -> list[object]:
    """The `at` of every event as the database holds it (SQLite: text), oldest first."""
    with db.get_db().engine.connect() as connection:
        return list(connection.scalars(text("SELECT at FROM verification_events ORDER BY id")))


def test_a_row_written_on_the_driver_is_stored_as_the_orm_stores_it(any_app: Flask) -> None:
    with any_app.app_context():
        session = db.session()
        session.add(VerificationEvent(**EVENT))
        session.commit()
        with driver.transaction() as (cursor, dialect):
            (event_id,) = cursor.one_or_none(Statements.of(dialect).insert_event, EVENT) or (None,)
        assert event_id is not None
        through_orm, on_the_driver = stored_at(any_app)
        assert through_orm == on_the_driver  # the same text on SQLite, the same instant on PG
        read_back = session.scalars(select(VerificationEvent.at).order_by(VerificationEvent.id))
        assert len(set(read_back)) == 1


def test_a_block_that_raises_writes_nothing_on_sqlite(app: Flask) -> None:
    with app.app_context():
        with pytest.raises(RuntimeError), driver.transaction() as (cursor, dialect):
            cursor.one_or_none(driver.Statement.compile(INSERT_EVENT, dialect), EVENT)
            raise RuntimeError("after the insert")
        assert stored_at(app) == []


def test_a_driver_error_comes_out_as_sqlalchemys_and_the_connection_goes_back_clean(
    any_app: Flask,
) -> None:
    with any_app.app_context():
        bad = {**EVENT, "beneficiary_id": 999_999}  # no such beneficiary: a foreign key refuses
        with pytest.raises(IntegrityError), driver.transaction() as (cursor, dialect):
            cursor.one_or_none(Statements.of(dialect).insert_event, bad)
        assert stored_at(any_app) == []
        pooled = db.get_db().engine.raw_connection()  # the same connection, back in the pool
        try:
            if db.get_db().engine.dialect.name == "postgresql":
                assert pooled.driver_connection.autocommit is False  # type: ignore[union-attr]
            cursor = pooled.cursor()
            cursor.execute("SELECT 1")
            assert cursor.fetchone()[0] == 1
        finally:
            pooled.close()


def test_a_database_that_cannot_be_reached_is_an_operational_error() -> None:
    app = Flask(__name__)
    app.extensions["hawiya.db"] = db.Database("postgresql+psycopg://postgres@127.0.0.1:9/none")
    with app.app_context(), pytest.raises(OperationalError), driver.transaction():
        pass  # answered 503 by identity.web.refusals, as every other database failure


def test_a_block_inside_another_shares_its_connection_and_the_outer_one_commits(
    app: Flask,
) -> None:
    with app.test_request_context():
        with driver.transaction() as (outer, dialect):
            with driver.transaction() as (inner, _):
                assert inner is outer
                inner.one_or_none(driver.Statement.compile(INSERT_EVENT, dialect), EVENT)
            assert stored_at(app) == []  # not committed yet: another connection sees nothing
        assert len(stored_at(app)) == 1
        with driver.transaction() as (after, _):
            assert after is not outer  # the block ended: the next one is a block of its own
