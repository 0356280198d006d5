"""Alembic environment: runs against the engine that `hawiya init` hands it."""

from alembic import context

import identity.models  # noqa: F401  (registers the tables on Base.metadata)
from identity.db import Base

engine = context.config.attributes["engine"]
sqlite = engine.dialect.name == "sqlite"
with engine.connect() as connection:
    if sqlite:
        # A batch migration rebuilds a table (copy, drop, rename); with foreign keys enforced the
        # drop would cascade into the rows that reference the table (a document's stored PDF).
        # SQLite takes this pragma only outside a transaction: before the migrations' one begins.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            context.run_migrations()
            if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                raise RuntimeError("The migration left rows whose foreign key points nowhere.")
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
