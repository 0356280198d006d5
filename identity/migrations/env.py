"""Alembic environment: runs against the engine that `hawiya init` hands it."""

from alembic import context

import identity.models  # noqa: F401  (registers the tables on Base.metadata)
from identity.db import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
