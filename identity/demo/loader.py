"""What `hawiya demo` loads beside the demo register: digital IDs, a demo agency and a staff user.

Running it again changes nothing but the secrets: the agency gets a new key and the staff user
a new password and TOTP secret, since the old ones were shown once and are gone.
"""

from dataclasses import dataclass
from pathlib import Path

from identity import db
from identity.access import agencies, staff
from identity.digital_id import credentials

REGISTER = Path(__file__).resolve().parent / "beneficiaries.csv"
AGENCY = "Demo Agency"
STAFF = "demo-admin"
ACTOR = "demo"


@dataclass(frozen=True)
class Person:
    """The demo beneficiary to sign in as: the register's first row."""

    civil_id: str
    file_number: str
    name_en: str


@dataclass(frozen=True)
class Demo:
    """What the demo made: how many IDs it issued, the agency's key and the staff user."""

    person: Person
    issued: int
    agency_key: str
    admin: staff.NewStaff


def first_person() -> Person:
    """Return the demo register's first beneficiary."""
    with REGISTER.open(encoding="utf-8") as demo:
        demo.readline()
        civil_id, file_number, _ar, name_en, *_ = demo.readline().split(",")
    return Person(civil_id, file_number, name_en)


def load() -> Demo:
    """Issue every missing digital ID, and (re)make the demo agency's key and staff user."""
    issued = credentials.issue_all(ACTOR)
    with db.transaction() as session:
        agency = agencies.by_name(session, AGENCY)
        if agency is None:
            key = agencies.create(session, AGENCY, "Demonstration", "name,status", ACTOR).key
        else:
            key = agencies.rotate_key(session, agency, ACTOR)
        user = staff.by_username(session, STAFF)
        if user is None:
            admin = staff.create(session, STAFF, "admin", ACTOR)
        else:
            staff.set_active(session, user, True, ACTOR)
            admin = staff.reset(session, user, ACTOR)
    return Demo(first_person(), issued, key, admin)
