"""The database: one engine per app, a session per request or command, and the migrations.

Who commits: the request is the unit of work. Service functions write in the caller's session
and never commit; identity.web.unit_of_work commits once after the view when the answer is
a success (< 400) and rolls back otherwise, so a view that catches a refusal and answers 4xx
writes nothing. CLI commands run their writes in `with transaction()`; the CSV import commits
once at its end (all or nothing). What must follow a commit and cannot be undone (an SMS)
waits for it with `after_commit`. The exceptions, each for a reason:
- records of a refusal that must outlive it commit before raising: otp._fail's audit of a
  wrong code and staff.authenticate's audit of a failed sign-in;
- background work, which has no request: the SMS worker (otp.SmsQueue) audits in its own
  transaction;
- a bulk issue commits in batches, so a large run neither holds one huge transaction nor
  loses everything to one late error, and resumes where it stopped: credentials.issue_all.
"""

import logging
import select
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from sqlalchemy import CursorResult, Engine, Table, create_engine, event, inspect, text, update
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import (
    DeclarativeBase,
    Session,
    SessionTransaction,
    scoped_session,
    sessionmaker,
)
from sqlalchemy.orm.attributes import set_committed_value

from identity.errors import Refused

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
AFTER_COMMIT = "hawiya.after_commit"  # session.info key: [(transaction, callback), ...]

log = logging.getLogger(__name__)


class Base(DeclarativeBase):
    """The base of every model."""


class Database:
    """An engine and a thread-scoped session factory bound to it."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.session = scoped_session(sessionmaker(self.engine, expire_on_commit=False))


def make_engine(url: str, **options: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout on every connection."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # No ping before each checkout (pool_pre_ping): it was a round trip on every request.
    engine = create_engine(url, **options)
    event.listen(engine, "checkout", _closed_by_the_server)
    return engine


def _closed_by_the_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Refuse a pooled connection whose socket the server has closed, without a round trip.

    An idle connection of ours has nothing to read unless the server hung up (a restart, a
    network cut, a killed backend): a readable socket is a dead connection, and raising
    DisconnectionError makes the pool take a fresh one instead. A connection that died silently
    fails its request with a 503, after which the pool replaces every connection as old.
    """
    readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    if readable:
        raise DisconnectionError("the database server closed this pooled connection")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def init_app(app: Flask) -> None:
    """Bind a Database to the app and remove the session at the end of each request."""
    database = Database(app.config["DATABASE_URL"])
    app.extensions["hawiya.db"] = database

    @app.teardown_appcontext
    def remove_session(_exc: BaseException | None) -> None:
        database.session.remove()


def get_db() -> Database:
    """Return the current app's Database."""
    db: Database = current_app.extensions["hawiya.db"]
    return db


def session() -> Session:
    """Return the session of the current request or command."""
    return get_db().session()


@contextmanager
def transaction() -> Iterator[Session]:
    """Run a block in one transaction: commit if it ends normally, roll back if it raises."""
    db_session = session()
    try:
        yield db_session
        db_session.commit()
    except BaseException:
        db_session.rollback()
        raise


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run callback once the transaction commits; never if it (or its savepoint) rolls back.

    For what must follow a change and cannot be undone (an SMS), whoever commits: a request or a
    command. Callbacks run in the order they were given, after the commit, so they cannot write.
    """
    # Remembered with the innermost transaction, so a savepoint rolled back drops its callbacks.
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(AFTER_COMMIT, []).append((transaction, callback))


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for _transaction, callback in session.info.pop(AFTER_COMMIT, []):
        try:
            callback()
        except Exception:
            # The change is committed: a failing callback must not make it look undone, nor
            # keep the callbacks after it from running.
            log.exception("a callback after commit failed")


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, rolled_back: SessionTransaction) -> None:
    pending = session.info.get(AFTER_COMMIT)
    if pending:
        session.info[AFTER_COMMIT] = [
            (transaction, callback)
            for transaction, callback in pending
            if not _inside(transaction, rolled_back)
        ]


@event.listens_for(Session, "after_transaction_end")
def _forget_after_commit(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction has ended: after a commit the callbacks have run already.
    if transaction.parent is None:
        session.info.pop(AFTER_COMMIT, None)


def _inside(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    """Whether a transaction is `outer` or nested in it (None: the one that had not begun)."""
    if transaction is None:
        return outer.parent is None
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


def compare_and_set(
    session: Session, row: Base, expected: Mapping[str, Any], change: Mapping[str, Any]
) -> bool:
    """Write `change` to this row only if its columns still hold `expected`; return if it did.

    One conditional UPDATE, so a change decided on what this transaction read cannot overwrite
    one that committed since: PostgreSQL re-checks the condition after waiting for a concurrent
    writer of the row, and SQLite runs it under its single write lock. The loser changes nothing.
    """
    mapper = inspect(row).mapper
    table = cast(Table, mapper.local_table)
    key = mapper.primary_key_from_instance(row)
    condition = [column == value for column, value in zip(mapper.primary_key, key, strict=True)]
    condition += [table.c[name] == value for name, value in expected.items()]
    result = cast(
        CursorResult[Any], session.execute(update(table).where(*condition).values(change))
    )
    if result.rowcount != 1:
        return False
    for name, value in change.items():  # what the row now holds, without writing it again
        set_committed_value(row, name, value)
    return True


def ping() -> None:
    """Run a trivial query; raises if the database cannot be reached."""
    with get_db().engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _alembic_config(engine: Engine) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the schema to the newest (or the given) migration; return the revisions around it."""
    before = current_revision(engine)
    command.upgrade(_alembic_config(engine), revision)
    return before, current_revision(engine)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to an earlier migration (for developers and the migration tests)."""
    command.downgrade(_alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """Return the schema's migration revision, or None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """Return the newest migration revision the code knows."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def new_revision(engine: Engine, message: str, autogenerate: bool) -> None:
    """Write a new migration file (for developers changing the schema)."""
    command.revision(_alembic_config(engine), message=message, autogenerate=autogenerate)


class SchemaOutdated(Refused):
    """The database is behind the code: `hawiya init` has not been run on it."""

    code, message = "schema-outdated", "The database schema is not up to date: run `hawiya init`."


def require_schema() -> None:
    """Stop a command with a clear message when `hawiya init` has not been run on this database."""
    if current_revision(get_db().engine) != head_revision():
        raise SchemaOutdated()
