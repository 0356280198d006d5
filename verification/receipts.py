"""Signed receipts: a JWS from Hawiya saying what an agency was told, for its archive."""

import secrets

from identity import signing
from identity.access.agencies import KnownAgency
from identity.clock import api_time
from verification.checks import Verdict

RECEIPT_TYP = "hawiya-receipt+jwt"
RECEIPT_CLAIMS = ("iss", "iat", "jti", "kind", "result", "agency", "purpose", "checked_at")


def issue(verdict: Verdict, agency: KnownAgency, purpose: str) -> str:
    """Sign what was checked, the verdict, for whom, why and when."""
    claims = {
        "iss": signing.ISSUER,
        "iat": int(verdict.checked_at.timestamp()),
        "jti": secrets.token_urlsafe(12),
        "sub": verdict.subject_ref,
        "kind": verdict.kind,
        "result": verdict.result,
        "status_source": verdict.status_source,
        "agency": agency.name,
        "purpose": purpose,
        "checked_at": api_time(verdict.checked_at),
    }
    return signing.sign(claims, RECEIPT_TYP)


def read(receipt: str) -> dict[str, object]:
    """Return the claims of one of our receipts; raise signing.TokenRejected otherwise."""
    return signing.read(receipt, RECEIPT_TYP, signing.ISSUER, RECEIPT_CLAIMS, leeway=5)
