"""Accounts: the first successful sign-in creates one; every sign-in is recorded."""

from sqlalchemy import select

from identity import db
from identity.audit import chain
from identity.digital_id import credentials
from identity.models import Account, Beneficiary, utcnow
from identity.signin import sessions
from identity.signin.otp import SignedIn


def sign_in(who: SignedIn, kind: str) -> str:
    """Create the account if needed, record the sign-in (uncommitted), start a session: token."""
    now = utcnow()
    subject = chain.subject_for_civil_id(who.civil_id)
    session = db.session()
    account = session.scalar(select(Account).where(Account.beneficiary_id == who.beneficiary_id))
    created = account is None
    if account is None:
        account = Account(beneficiary_id=who.beneficiary_id, created_at=now)
        session.add(account)
    account.last_login_at = now
    session.flush()
    if created:  # the first sign-in gives the beneficiary their digital ID
        credentials.for_holder(session, who.beneficiary_id, subject)
    chain.record(session, subject, "login.success", subject, {"via": kind, "new": created})
    # The request commits all this before it answers; if that fails, the token is never sent.
    return sessions.create(account.id, who.beneficiary_id, kind)


def holder(beneficiary_id: int) -> Beneficiary | None:
    """Return the signed-in person's register entry."""
    return db.session().get(Beneficiary, beneficiary_id)
