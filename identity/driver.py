"""Statements run straight on the database driver: the hot path of a check, and nothing else.

A check reads one row and writes one; through the ORM session and Core executes that took a
third of it (bench/verify_profile.py). Here a Core statement is compiled once per dialect
(`Statement`) and run on a DBAPI cursor of a pooled connection of its own (`transaction`),
which commits before the request answers. Everything else goes through `identity.db`.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import g
from sqlalchemy import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from identity import db

OPEN = "hawiya_driver_transaction"  # flask.g: the block open in this request


@dataclass(frozen=True)
class Statement:
    """A Core statement compiled for one dialect, with what its parameters need on the way in.

    The SQL, the order of positional parameters (SQLite's `?`) and each parameter's bind
    processor (a datetime becomes SQLite's text) are SQLAlchemy's own, so a row written here
    reads back through the ORM exactly as one written there.
    """

    sql: str
    positions: tuple[str, ...] | None  # positional names in order, or None: by name
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    constants: tuple[tuple[str, Any], ...]  # the values written into the statement itself

    @classmethod
    def compile(cls, statement: ClauseElement, dialect: Dialect) -> "Statement":
        """Compile statement for dialect (once: keep the result)."""
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        processors, constants = [], []
        for bind, name in compiled.bind_names.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processors.append((name, process))
            if not bind.required:
                constants.append((name, bind.value))
        positions = tuple(compiled.positiontup or ()) if compiled.positional else None
        return cls(str(compiled), positions, tuple(processors), tuple(constants))

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        """Return the driver's parameters for these values: a list for `?`, else by name."""
        bound = {**dict(self.constants), **values}
        for name, process in self.processors:
            bound[name] = process(bound[name])
        if self.positions is None:
            return bound
        return [bound[name] for name in self.positions]


class Cursor:
    """A DBAPI cursor that runs Statements."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def one_or_none(
        self, statement: Statement, values: Mapping[str, Any]
    ) -> tuple[Any, ...] | None:
        """Run statement and return its first row, or None."""
        self._cursor.execute(statement.sql, statement.parameters(values))
        row = self._cursor.fetchone()
        return tuple(row) if row is not None else None


@contextmanager
def transaction() -> Iterator[tuple[Cursor, Dialect]]:
    """Yield a cursor on a pooled connection of its own, and the dialect to compile for.

    Its writes commit when the block ends and roll back if it raises. A block inside another
    of the same request shares the outer one's cursor, and the outer one commits: one pooled
    connection per check. On PostgreSQL each statement commits by itself (autocommit: no BEGIN
    and COMMIT round trips), so a block must write with one statement. A driver error comes out
    as SQLAlchemy's, so that a database that is down answers 503 as everywhere
    (identity.web.refusals), and a connection the error shows dead leaves the pool.
    """
    outer: tuple[Cursor, Dialect] | None = g.get(OPEN)
    if outer is not None:
        yield outer
        return
    engine = db.get_db().engine
    dialect = engine.dialect
    base = dialect.loaded_dbapi.Error
    autocommit = dialect.name == "postgresql"
    connection = cursor = None
    try:
        connection = engine.raw_connection()
        if autocommit:
            connection.driver_connection.autocommit = True  # type: ignore[union-attr]
        cursor = connection.cursor()
        opened = (Cursor(cursor), dialect)
        setattr(g, OPEN, opened)
        yield opened
        connection.commit()
    except base as error:
        dead = connection is not None and dialect.is_disconnect(error, connection, cursor)
        if connection is not None and dead:
            connection.invalidate(error)
        raise DBAPIError.instance(None, None, error, base, connection_invalidated=dead) from error
    finally:
        g.pop(OPEN, None)
        if connection is not None:
            _give_back(connection, cursor, autocommit)


def _give_back(connection: Any, cursor: Any, autocommit: bool) -> None:
    """Return the connection to the pool as it came (the pool rolls back what is left)."""
    try:
        if cursor is not None:
            cursor.close()
        if autocommit and connection.is_valid:
            connection.driver_connection.autocommit = False
    except Exception:  # a connection lost on the way: the pool replaces it
        connection.invalidate()
    connection.close()
