"""Widen credentials.reason to 200 characters, the length every reason is validated to.

A reason of 65 to 200 characters passed validation and then failed on PostgreSQL (value too
long for varchar(64)); SQLite does not enforce the length.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("credentials") as batch:
        batch.alter_column("reason", type_=sa.String(200), existing_type=sa.String(64))


def downgrade() -> None:
    # A reason longer than the old column is cut to fit rather than lost with its row.
    op.execute("UPDATE credentials SET reason = substr(reason, 1, 64) WHERE length(reason) > 64")
    with op.batch_alter_table("credentials") as batch:
        batch.alter_column("reason", type_=sa.String(64), existing_type=sa.String(200))
