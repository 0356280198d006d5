"""Index beneficiaries by the last four digits of the civil ID, for the console's search.

Staff often have only the last four digits (what receipts and the audit log show). An
expression index on substr(civil_id, 9, 4) (a canonical civil ID is 12 digits) lets
"WHERE substr(civil_id, 9, 4) = '2596'" use an index on PostgreSQL and SQLite alike, without a
second copy of the number to keep in step. A prefix search needs no new index: it is a range
on the unique index of civil_id (civil_id BETWEEN '2880' AND '288099999999').

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_beneficiaries_civil_id_last_four ON beneficiaries (substr(civil_id, 9, 4))"
    )


def downgrade() -> None:
    op.drop_index("ix_beneficiaries_civil_id_last_four", table_name="beneficiaries")
