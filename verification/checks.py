"""Is this genuine and valid right now? Every check reads the live register."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from identity import credentials, db, signing
from identity.models import Beneficiary, Credential

VERDICTS = ("valid", "revoked", "suspended", "expired", "invalid", "not_found")
# What a beneficiary's own status in the register means for their ID.
BENEFICIARY_VERDICT = {"suspended": "suspended", "inactive": "suspended", "deceased": "revoked"}


@dataclass(frozen=True)
class Verdict:
    """The answer to one check, with the live state it was read from."""

    result: str
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    credential: Credential | None = None
    beneficiary: Beneficiary | None = None
    status_source: str = "live"


def check_phone_token(token: str) -> Verdict:
    """Check a phone ID token: our signature, not expired, and the live status in the register."""
    try:
        claims = credentials.read_phone_token(token)
    except signing.TokenRejected as rejected:
        return Verdict(rejected.verdict)
    session = db.session()
    credential = credentials.by_id(session, str(claims["sub"]))
    if credential is None:
        return Verdict("not_found")
    person = session.get(Beneficiary, credential.beneficiary_id)
    assert person is not None  # the foreign key guarantees it
    if credential.status == "revoked":
        result = "revoked"
    elif person.status in BENEFICIARY_VERDICT:
        result = BENEFICIARY_VERDICT[person.status]
    elif credential.status == "suspended":
        result = "suspended"
    else:
        result = "valid"
    return Verdict(result, credential=credential, beneficiary=person)
