"""Add credentials (digital IDs) with their live status and status-list index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("status_index", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(32), nullable=False, unique=True),
        sa.Column(
            "beneficiary_id",
            sa.Integer(),
            sa.ForeignKey("beneficiaries.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("changed_by", sa.String(120), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(120), nullable=False),
        sa.Column("kid", sa.String(64), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'suspended', 'revoked')", name="ck_credentials_status"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_credentials_beneficiary_id", "credentials", ["beneficiary_id"])


def downgrade() -> None:
    op.drop_index("ix_credentials_beneficiary_id", table_name="credentials")
    op.drop_table("credentials")
