"""db.after_commit: a callback runs once its transaction commits, and never if it rolls back."""

import logging
import time

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from identity import db


def test_a_callback_runs_after_the_commit_in_order(app: Flask) -> None:
    ran: list[str] = []
    with app.app_context():
        session = db.session()
        session.execute(text("SELECT 1"))
        db.after_commit(session, lambda: ran.append("first"))
        db.after_commit(session, lambda: ran.append("second"))
        assert ran == []
        session.commit()
        assert ran == ["first", "second"]
        session.commit()  # a later transaction does not run them again
    assert ran == ["first", "second"]


def test_a_rolled_back_transaction_runs_nothing_then_or_later(app: Flask) -> None:
    ran: list[str] = []
    with app.app_context():
        session = db.session()
        session.execute(text("SELECT 1"))
        db.after_commit(session, lambda: ran.append("rolled back"))
        session.rollback()
        session.execute(text("SELECT 1"))
        session.commit()
    assert ran == []


def test_a_callback_of_a_rolled_back_savepoint_is_dropped(app: Flask) -> None:
    ran: list[str] = []
    with app.app_context():
        session = db.session()
        db.after_commit(session, lambda: ran.append("outer"))
        with pytest.raises(RuntimeError), session.begin_nested():
            db.after_commit(session, lambda: ran.append("savepoint"))
            raise RuntimeError("the savepoint fails")
        with session.begin_nested():
            db.after_commit(session, lambda: ran.append("kept savepoint"))
        session.commit()
    assert ran == ["outer", "kept savepoint"]


def test_a_failing_callback_is_logged_and_the_next_still_runs(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    def fail() -> None:
        raise RuntimeError("gateway exploded")

    with app.app_context(), caplog.at_level(logging.ERROR, logger="identity.db"):
        session = db.session()
        session.execute(text("SELECT 1"))
        db.after_commit(session, fail)
        db.after_commit(session, lambda: ran.append("next"))
        session.commit()  # committed, so it does not raise
    assert ran == ["next"]
    assert "a callback after commit failed" in caplog.text


def test_a_pooled_connection_the_server_closed_is_replaced_without_a_failed_request(
    postgres_url: str,
) -> None:
    """No ping per checkout, yet a connection the server hung up on never reaches a request."""
    engine = db.make_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as connection:
            pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as other:  # the same pooled connection, still idle after this
            assert other.execute(text("SELECT pg_backend_pid()")).scalar_one() == pid
        killer = db.make_engine(postgres_url, poolclass=NullPool)
        with killer.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        killer.dispose()
        time.sleep(0.2)  # the server's goodbye reaches the pooled socket
        with engine.connect() as connection:
            assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        engine.dispose()
