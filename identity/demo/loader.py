"""What `hawiya demo` loads beside the demo register: digital IDs, an agency, a staff user and a
stamped document.

The demo loads once. Once its agency exists, `load` changes nothing: `holdings` says what the
demo holds, and the secrets it printed when it loaded (the agency's API key, the staff user's
password and TOTP secret) cannot be printed again, since only their hashes are kept. `reset`
re-issues exactly those credentials (the old ones stop working); it deletes nothing, so the
audit log and everything staff did with the demo's rows stay.
"""

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from identity import db
from identity.access import agencies, staff
from identity.demo import letter
from identity.digital_id import credentials
from identity.documents import documents
from identity.models import Agency, Beneficiary, Credential, Document, DocumentFile
from identity.register.beneficiaries import find

REGISTER = Path(__file__).resolve().parent / "beneficiaries.csv"
AGENCY = "Demo Agency"
AGENCY_PURPOSE = "Demonstration"
AGENCY_SCOPE = "name,status"
STAFF = "demo-admin"
ACTOR = "demo"


@dataclass(frozen=True)
class Person:
    """The demo beneficiary to sign in as: the register's first row."""

    civil_id: str
    file_number: str
    name_en: str


@dataclass(frozen=True)
class DemoDocument:
    """The demo's stamped document: what /d asks for, and where its QR leads."""

    number: str
    code: str | None  # read back from the stamped PDF; None if it cannot be read
    status: str
    url: str


@dataclass(frozen=True)
class Holdings:
    """What the demo holds now, read from the database (no secret among it)."""

    person: Person
    beneficiaries: int
    digital_ids: int
    agency: str | None  # its name, when it exists
    agency_active: bool
    staff: str | None  # the staff user's name, when it exists
    staff_active: bool
    document: DemoDocument | None


@dataclass(frozen=True)
class Secrets:
    """Credentials made just now, shown once: None for those that already existed."""

    agency_key: str | None = None
    admin: staff.NewStaff | None = None


def first_person() -> Person:
    """Return the demo register's first beneficiary."""
    with REGISTER.open(encoding="utf-8") as demo:
        demo.readline()
        civil_id, file_number, _ar, name_en, *_ = demo.readline().split(",")
    return Person(civil_id, file_number, name_en)


def _agency(session: Session) -> Agency | None:
    return agencies.by_name(session, AGENCY)


def loaded() -> bool:
    """Tell whether the demo has loaded (its agency exists: it is made in the last step)."""
    return _agency(db.session()) is not None


def _document(session: Session) -> Document | None:
    """Return the demo's document: the first the demo issued."""
    return session.scalar(
        select(Document).where(Document.issued_by == ACTOR).order_by(Document.id).limit(1)
    )


def _issue_document(session: Session, person: Person) -> None:
    """Stamp the demo letter for the demo beneficiary through the normal issue path."""
    beneficiary = find(session, person.civil_id)
    if beneficiary is None:  # the register's first row is not there: nothing to issue it to
        return
    documents.issue(
        session, letter.make(person.name_en), beneficiary, letter.DOCUMENT_TYPE, letter.TITLE,
        letter.OFFICE, ACTOR,
    )  # fmt: skip


def load() -> Secrets:
    """Issue every missing digital ID, then make what of the demo is missing, in one transaction.

    Call it after the demo register's import. What exists already is left as it is.
    """
    credentials.issue_all(ACTOR)
    made_key, admin = None, None
    with db.transaction() as session:
        if _document(session) is None:
            _issue_document(session, first_person())
        if staff.by_username(session, STAFF) is None:
            admin = staff.create(session, STAFF, "admin", ACTOR)
        if _agency(session) is None:
            made_key = agencies.create(session, AGENCY, AGENCY_PURPOSE, AGENCY_SCOPE, ACTOR).key
    return Secrets(made_key, admin)


def reset() -> Secrets:
    """Re-issue the demo's credentials: a new API key, a new password and TOTP secret.

    The demo agency and staff user are enabled (and made if missing); the old key, password and
    TOTP secret stop working at once. Nothing else changes.
    """
    with db.transaction() as session:
        user = staff.by_username(session, STAFF)
        if user is None:
            admin = staff.create(session, STAFF, "admin", ACTOR)
        else:
            staff.set_active(session, user, True, ACTOR)
            admin = staff.reset(session, user, ACTOR)
        agency = _agency(session)
        if agency is None:
            key = agencies.create(session, AGENCY, AGENCY_PURPOSE, AGENCY_SCOPE, ACTOR).key
        else:
            if not agency.active:
                agencies.set_active(session, agency, True, ACTOR)
            key = agencies.rotate_key(session, agency, ACTOR)
    return Secrets(key, admin)


def holdings() -> Holdings:
    """Return what the demo holds now; reads only."""
    session = db.session()
    agency = _agency(session)
    user = staff.by_username(session, STAFF)
    found = _document(session)
    document = None
    if found is not None:
        stamped = session.get(DocumentFile, found.id)
        code = letter.printed_code(stamped.pdf) if stamped is not None else None
        document = DemoDocument(found.number, code, found.status, documents.url(found))
    holds = Holdings(
        person=first_person(),
        beneficiaries=session.scalar(select(func.count(Beneficiary.id))) or 0,
        digital_ids=session.scalar(select(func.count(Credential.id))) or 0,
        agency=agency.name if agency is not None else None,
        agency_active=agency is not None and agency.active,
        staff=user.username if user is not None else None,
        staff_active=user is not None and user.active,
        document=document,
    )
    session.rollback()  # end the read-only transaction: nothing was written
    return holds
