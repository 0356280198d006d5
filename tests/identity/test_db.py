"""db.after_commit: a callback runs once its transaction commits, and never if it rolls back."""

import logging

import pytest
from flask import Flask
from sqlalchemy import text

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
