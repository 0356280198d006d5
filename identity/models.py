"""The register's tables, their status values, and what a credential's status means.

`standing` is the one rule for what a credential's status and its holder's status in the register
mean together: the live check (`verification.checks`) and the offline status lists
(`identity.digital_id.status_list`) both ask it (`standing_in_sql` where the database decides).
"""

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    case,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from identity import clock
from identity.db import Base

BENEFICIARY_STATUSES = ("active", "suspended", "inactive", "deceased")
CREDENTIAL_STATUSES = ("active", "suspended", "revoked")
# What a beneficiary's own status in the register does to their ID, whatever the ID's status.
HOLDER_STANDING = {"deceased": "revoked", "suspended": "suspended", "inactive": "suspended"}


def standing(credential_status: str, holder_status: str) -> str:
    """Return what an ID is worth now: "valid", "suspended" or "revoked".

    A revoked credential stays revoked; then the holder's status decides (deceased revokes,
    suspended or inactive suspends); then the credential's own suspension.
    """
    if credential_status == "revoked":
        return "revoked"
    if holder_status in HOLDER_STANDING:
        return HOLDER_STANDING[holder_status]
    return "suspended" if credential_status == "suspended" else "valid"


def standing_in_sql(
    credential_status: ColumnElement[str], holder_status: ColumnElement[str]
) -> ColumnElement[str]:
    """Return `standing` as a SQL expression, for a statement that decides in the database.

    Built from the same table in the same order (a check on PostgreSQL reads, decides and
    records in one round trip); tests/verification/test_checks.py holds it to `standing` for
    every pair of statuses, on both databases.
    """
    return case(
        (credential_status == "revoked", "revoked"),
        *((holder_status == status, worth) for status, worth in HOLDER_STANDING.items()),
        (credential_status == "suspended", "suspended"),
        else_="valid",
    )


def utcnow() -> datetime:
    """Return the current time in UTC (the column defaults call it; it reads identity.clock)."""
    return clock.now()


class Beneficiary(Base):
    """A person in the agency's register; the register is the truth every verification reads."""

    __tablename__ = "beneficiaries"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in BENEFICIARY_STATUSES) + ")",
            name="ck_beneficiaries_status",
        ),
        # The console finds a civil ID by its last four digits (a canonical civil ID is 12
        # digits): this expression index, in both databases, keeps that off a full scan.
        Index("ix_beneficiaries_civil_id_last_four", text("substr(civil_id, 9, 4)")),
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


class Account(Base):
    """A beneficiary who completed sign-in by SMS code at least once."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    beneficiary_id: Mapped[int] = mapped_column(
        ForeignKey("beneficiaries.id", ondelete="RESTRICT"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    beneficiary: Mapped[Beneficiary] = relationship()


class AuditEvent(Base):
    """An append-only, hash-chained record of something that happened (never a secret)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(120))
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class Credential(Base):
    """A beneficiary's digital ID: an opaque id, a live status, and a status-list slot.

    `status_index` is the credential's place in the status list: an autoincrement that is never
    reused (SQLite AUTOINCREMENT, a PostgreSQL identity), so a slot always means one credential.
    """

    __tablename__ = "credentials"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in CREDENTIAL_STATUSES) + ")",
            name="ck_credentials_status",
        ),
        {"sqlite_autoincrement": True},
    )

    status_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    beneficiary_id: Mapped[int] = mapped_column(
        ForeignKey("beneficiaries.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(12), default="active")
    reason: Mapped[str | None] = mapped_column(String(200))
    changed_by: Mapped[str] = mapped_column(String(120))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(120))
    kid: Mapped[str | None] = mapped_column(String(64))

    beneficiary: Mapped[Beneficiary] = relationship()


SCOPE_ATTRIBUTES = ("name", "civil_id", "file_number", "phone", "status", "category")


class Agency(Base):
    """An agency that verifies through the API: its purpose, what it may see, its key's hash."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    purpose: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(200))  # comma-separated SCOPE_ATTRIBUTES
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    rate_limit: Mapped[int] = mapped_column(Integer, default=600)  # verifications per minute
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def scopes(self) -> tuple[str, ...]:
        return self.scopes_of(self.scope)

    @staticmethod
    def scopes_of(scope: str) -> tuple[str, ...]:
        """Return the attributes of a stored scope (comma-separated)."""
        return tuple(s for s in scope.split(",") if s)


class VerificationEvent(Base):
    """One check of an ID or a document: who checked, why, what they were told, when."""

    __tablename__ = "verification_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))  # id_card | document
    subject_ref: Mapped[str | None] = mapped_column(String(64))  # credential id or reference
    beneficiary_id: Mapped[int | None] = mapped_column(
        ForeignKey("beneficiaries.id", ondelete="SET NULL"), index=True
    )
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))  # page | scan | api
    purpose: Mapped[str] = mapped_column(String(200))
    result: Mapped[str] = mapped_column(String(16))

    agency: Mapped[Agency | None] = relationship()


DOCUMENT_STATUSES = ("valid", "revoked", "superseded")
DOCUMENT_TYPE_KEY_MAX = 40
DOCUMENT_TYPE_LABEL_MAX = 80


class DocumentType(Base):
    """A kind of document the agency issues (the agency's data), labelled in both languages."""

    __tablename__ = "document_types"

    key: Mapped[str] = mapped_column(String(DOCUMENT_TYPE_KEY_MAX), primary_key=True)
    label_ar: Mapped[str] = mapped_column(String(DOCUMENT_TYPE_LABEL_MAX))
    label_en: Mapped[str] = mapped_column(String(DOCUMENT_TYPE_LABEL_MAX))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))


class Document(Base):
    """A letter or certificate the agency issued, stamped with a QR; its status is live."""

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in DOCUMENT_STATUSES) + ")",
            name="ck_documents_status",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)  # 128 random bits, in the QR
    number: Mapped[str] = mapped_column(String(24), unique=True)  # printed, typed by people
    code_hash: Mapped[str] = mapped_column(String(64))  # the printed verification code, hashed
    type: Mapped[str] = mapped_column(
        String(DOCUMENT_TYPE_KEY_MAX),
        ForeignKey("document_types.key", name="fk_documents_type", ondelete="RESTRICT"),
    )
    title: Mapped[str] = mapped_column(String(200))
    beneficiary_id: Mapped[int] = mapped_column(
        ForeignKey("beneficiaries.id", ondelete="RESTRICT"), index=True
    )
    office: Mapped[str] = mapped_column(String(120))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(120))
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="valid")
    reason: Mapped[str | None] = mapped_column(String(200))
    changed_by: Mapped[str] = mapped_column(String(120))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))

    beneficiary: Mapped[Beneficiary] = relationship()
    superseded_by: Mapped["Document | None"] = relationship(remote_side=[id])


class DocumentFile(Base):
    """The stamped PDF of a document, kept apart so listing documents stays light."""

    __tablename__ = "document_files"

    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    pdf: Mapped[bytes] = mapped_column(LargeBinary)


class ApiToken(Base):
    """A token for the agency's own back-office systems, stored hashed."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


STAFF_ROLES = ("admin", "issuer", "auditor")


class StaffUser(Base):
    """A member of the agency's staff: password (argon2) and TOTP, one role."""

    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint(
            "role IN (" + ", ".join(f"'{r}'" for r in STAFF_ROLES) + ")",
            name="ck_staff_users_role",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(12))
    active: Mapped[bool] = mapped_column(default=True)
    must_change_password: Mapped[bool] = mapped_column(default=True)  # the one-time password
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
