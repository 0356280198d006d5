"""The verification trail: who checked a beneficiary's ID and documents, when, why, and the answer.

`verification.checks` writes one event per check; the beneficiary ("who checked me") and staff
read them here, each with what was checked: the digital ID, or which document.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from identity import db
from identity.models import Document, VerificationEvent

# The purpose stored for a check from the public verdict pages (no agency said why).
PUBLIC_PURPOSE = "public"

PAGE = 50
EXPORT_LIMIT = 10_000  # rows in one CSV download; the file says when there were more


@dataclass(frozen=True)
class Check:
    """One verification and the document it was about (None for a check of the digital ID)."""

    event: VerificationEvent
    document: Document | None


def events(
    beneficiary_id: int, before: int | None = None, limit: int = PAGE
) -> list[VerificationEvent]:
    """Return the newest verification events of a beneficiary, `limit` at a time."""
    query = (
        select(VerificationEvent)
        .options(selectinload(VerificationEvent.agency))
        .where(VerificationEvent.beneficiary_id == beneficiary_id)
        .order_by(VerificationEvent.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(VerificationEvent.id < before)
    return list(db.session().scalars(query))


def checks(found: list[VerificationEvent]) -> list[Check]:
    """Pair each event with the document it checked, read in one query."""
    references = {e.subject_ref for e in found if e.kind == "document" and e.subject_ref}
    by_reference: dict[str, Document] = {}
    if references:
        query = select(Document).where(Document.reference.in_(references))
        by_reference = {d.reference: d for d in db.session().scalars(query)}
    return [
        Check(e, by_reference.get(e.subject_ref or "") if e.kind == "document" else None)
        for e in found
    ]


def history(beneficiary_id: int, before: int | None = None, limit: int = PAGE) -> list[Check]:
    """Return the newest checks of a beneficiary with what each was about."""
    return checks(events(beneficiary_id, before, limit))
