"""The verification trail: who checked a beneficiary's ID and documents, when, why, and the answer.

`verification.checks` writes one event per check; the beneficiary ("who checked me") and staff
read them here.
"""

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from identity import db
from identity.models import VerificationEvent

PAGE = 50


def events(beneficiary_id: int, before: int | None = None) -> list[VerificationEvent]:
    """Return the newest verification events of a beneficiary, PAGE at a time."""
    query = (
        select(VerificationEvent)
        .options(selectinload(VerificationEvent.agency))
        .where(VerificationEvent.beneficiary_id == beneficiary_id)
        .order_by(VerificationEvent.id.desc())
        .limit(PAGE)
    )
    if before is not None:
        query = query.where(VerificationEvent.id < before)
    return list(db.session().scalars(query))
