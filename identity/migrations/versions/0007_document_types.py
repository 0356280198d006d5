"""Add document types as the agency's data; documents reference their type's key.

The four kinds of document the code used to fix are the initial set, with the labels the pages
showed. A type already used by a stored document but unknown here is kept (labelled with its
key) so the new foreign key holds for every existing row.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

INITIAL = (
    ("eligibility_endorsement", "إقرار استحقاق", "Eligibility endorsement"),
    ("housing_file_statement", "بيان ملف إسكاني", "Housing file statement"),
    ("entitlement_certificate", "شهادة استحقاق", "Entitlement certificate"),
    ("letter", "خطاب", "Letter"),
)


def upgrade() -> None:
    types = op.create_table(
        "document_types",
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column("label_ar", sa.String(80), nullable=False),
        sa.Column("label_en", sa.String(80), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
    )
    now = datetime.now(UTC)
    rows = [
        {"key": key, "label_ar": ar, "label_en": en, "active": True, "created_at": now,
         "created_by": "migration"}
        for key, ar, en in INITIAL
    ]
    known = {key for key, _ar, _en in INITIAL}
    used = op.get_bind().execute(sa.text("SELECT DISTINCT type FROM documents")).scalars()
    for key in sorted(set(used) - known):
        rows.append({"key": key, "label_ar": key, "label_en": key, "active": True,
                     "created_at": now, "created_by": "migration"})
    op.bulk_insert(types, rows)
    with op.batch_alter_table("documents") as batch:
        batch.alter_column(
            "type", existing_type=sa.String(32), type_=sa.String(40), existing_nullable=False
        )
        batch.create_foreign_key(
            "fk_documents_type", "document_types", ["type"], ["key"], ondelete="RESTRICT"
        )


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_constraint("fk_documents_type", type_="foreignkey")
        batch.alter_column(
            "type", existing_type=sa.String(40), type_=sa.String(32), existing_nullable=False
        )
    op.drop_table("document_types")
