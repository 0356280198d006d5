"""The register's tables."""

from datetime import UTC, datetime

from sqlalchemy import CheckConstraint, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from identity.db import Base
from identity.fields import STATUSES


def utcnow() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


class Beneficiary(Base):
    """A person in the agency's register; the register is the truth every verification reads."""

    __tablename__ = "beneficiaries"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")",
            name="ck_beneficiaries_status",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    civil_id: Mapped[str] = mapped_column(String(12), unique=True)
    file_number: Mapped[str] = mapped_column(String(20), index=True)
    full_name_ar: Mapped[str] = mapped_column(String(120))
    full_name_en: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12))
    category: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
