"""The bearer gates: who may call an API, read once from the request's Authorization header.

Each gate returns who is calling or refuses with the same 401 for every failure (missing,
malformed, unknown, revoked), so a refusal never tells a guess how close it came. The browser's
cookie session is read in identity.web.holder.guards.
"""

from flask import request

from identity import db, ratelimit
from identity.access import agencies, api_tokens
from identity.errors import Refused, Unauthorized
from identity.models import ApiToken
from identity.signin import sessions
from identity.web.http import bearer_token

# Query parameters that would put a key in logs and browser histories: refused outright.
KEY_PARAMETERS = frozenset({"key", "api_key", "apikey", "access_token", "token", "auth"})


class KeyInQuery(Refused):
    code = "key-in-query"
    message = "Send the API key in the Authorization header, never in the address."


def require_agency() -> agencies.KnownAgency:
    """Return the agency of the request's bearer key; one identical 401 for every failure."""
    lowered = {name.lower() for name in request.args}
    if lowered & KEY_PARAMETERS or agencies.KEY_PREFIX in request.query_string.decode("latin-1"):
        raise KeyInQuery()
    agency = agencies.known(bearer_token())
    if agency is None:
        raise Unauthorized("A valid agency API key is required: Authorization: Bearer <key>.")
    # A fair share between agencies, not a guard against guessing: counted in leases (one
    # store round trip per lease, not per request), and while Redis is down the checks go on
    # uncounted, since a verdict needs only the register.
    ratelimit.share(f"agency:{agency.id}", agency.rate_limit, 60)
    return agency


def require_backoffice() -> ApiToken:
    """Return the back-office token of the request, or refuse with 401."""
    return _api_token(
        "backoffice", "A valid back-office token is required: Authorization: Bearer <token>."
    )


def require_metrics() -> ApiToken:
    """Return the metrics token of the request (it may only read GET /metrics), or refuse."""
    return _api_token(
        "metrics", "A valid metrics token is required: Authorization: Bearer <token>."
    )


def _api_token(role: str, refusal: str) -> ApiToken:
    """Return the request's active token of this role, or refuse with 401 and this message."""
    token = api_tokens.authenticate(db.session(), bearer_token(), role)
    if token is None:
        raise Unauthorized(refusal)
    return token


def require_holder() -> sessions.HolderSession:
    """Return the holder's app session of the bearer access token, or refuse with 401."""
    holder = sessions.load(bearer_token(), sessions.API)
    if holder is None:
        raise Unauthorized("Sign in first: send Authorization: Bearer <access_token>.")
    return holder
