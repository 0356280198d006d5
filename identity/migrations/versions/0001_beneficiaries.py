"""Create the beneficiaries table (the register).

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "beneficiaries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("civil_id", sa.String(12), nullable=False, unique=True),
        sa.Column("file_number", sa.String(20), nullable=False),
        sa.Column("full_name_ar", sa.String(120), nullable=False),
        sa.Column("full_name_en", sa.String(120), nullable=False),
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'suspended', 'inactive', 'deceased')",
            name="ck_beneficiaries_status",
        ),
    )
    op.create_index("ix_beneficiaries_file_number", "beneficiaries", ["file_number"])


def downgrade() -> None:
    op.drop_index("ix_beneficiaries_file_number", table_name="beneficiaries")
    op.drop_table("beneficiaries")
