"""`/status/<n>` and `/api/v1/me/credential`: the offline path, read as an outside verifier would.

Lists are decoded here without our code: joserfc against the served JWKS, zlib, and the bit
order of draft-ietf-oauth-status-list (entry 0 in the least significant bits of byte 0).
"""

import base64
import json
import zlib
from dataclasses import replace
from typing import Any, cast

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet, KeySetSerialization
from sqlalchemy import insert

from identity import db, signing
from identity.digital_id import credentials, status_list
from identity.models import (
    BENEFICIARY_STATUSES,
    CREDENTIAL_STATUSES,
    Credential,
    standing,
    utcnow,
)
from identity.register.beneficiaries import find
from tests.factories import FATIMA, NASSER, add_people, api_sign_in, backoffice_token, issue_ids
from tests.identity.web.test_openapi import conforms

VALID, INVALID, SUSPENDED = 0, 1, 2
PUBLIC = "http://127.0.0.1:5000"  # the default HAWIYA_PUBLIC_URL


@pytest.fixture
def world(any_app: Flask) -> Flask:
    """Fatima and Nasser in the register, each with an active digital ID, on both backends."""
    add_people(any_app, FATIMA, NASSER)
    issue_ids(any_app, FATIMA, NASSER)
    return any_app


def jose_verify(client: FlaskClient, token: str, typ: str) -> dict[str, Any]:
    """Verify a token with joserfc against the served JWKS; return its claims."""
    jwks = client.get("/.well-known/jwks.json").json
    key_set = KeySet.import_key_set(cast(KeySetSerialization, jwks))
    verified = jose_jwt.decode(token, key_set, algorithms=["ES256"])
    assert verified.header["typ"] == typ
    jose_jwt.JWTClaimsRegistry(
        leeway=5, iss={"essential": True, "value": "hawiya"}, exp={"essential": True}
    ).validate(verified.claims)
    return dict(verified.claims)


def openapi(client: FlaskClient) -> dict[str, Any]:
    return dict(client.get("/api/v1/openapi.json").json or {})


def fetch_list(client: FlaskClient, number: int = 0) -> dict[str, Any]:
    """Fetch and verify a status list token; return its claims."""
    response = client.get(f"/status/{number}")
    assert response.status_code == 200, response.data
    assert response.mimetype == "application/statuslist+jwt"
    return jose_verify(client, response.text, "statuslist+jwt")


def entries(claims: dict[str, Any]) -> bytes:
    """Return the uncompressed bytes of a list's `lst`."""
    assert claims["status_list"]["bits"] == 2
    lst = claims["status_list"]["lst"]
    return zlib.decompress(base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4)))


def status_at(bits: bytes, index: int) -> int:
    """Read entry `index`, 2 bits wide, the draft's way."""
    return (bits[index // 4] >> (index % 4) * 2) & 0b11


def index_of(app: Flask, civil_id: str) -> int:
    """Return the status index of a person's newest credential."""
    with app.app_context():
        person = find(db.session(), civil_id)
        assert person is not None
        credential = credentials.current(db.session(), person.id)
        assert credential is not None
        return credential.status_index


def credential_id(app: Flask, civil_id: str) -> str:
    with app.app_context():
        person = find(db.session(), civil_id)
        assert person is not None
        credential = credentials.current(db.session(), person.id)
        assert credential is not None
        return credential.id


def change(app: Flask, civil_id: str, action: str) -> None:
    """Revoke, suspend or reinstate a person's ID through the back-office API."""
    response = app.test_client().post(
        f"/api/v1/credentials/{credential_id(app, civil_id)}/{action}",
        json={"reason": "Checked by the office"},
        headers={"Authorization": f"Bearer {backoffice_token(app)}"},
    )
    assert response.status_code == 200, response.json


def status_of(app: Flask, civil_id: str) -> int:
    """Fetch list 0 afresh and read a person's entry in it."""
    client = app.test_client()
    return status_at(entries(fetch_list(client)), index_of(app, civil_id))


def test_the_encoding_matches_the_drafts_example() -> None:
    """The draft's 2-bit example: statuses 1,2,0,3,0,1,0,1,1,2,3,3 are the bytes C9 44 F9."""
    bits = bytearray(3)
    for position, value in enumerate([1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]):
        status_list.set_entry(bits, position, value)
    assert bytes(bits) == b"\xc9\x44\xf9"
    assert status_list.encode(bits) == "eNo76fITAAPfAgc"
    status_list.set_entry(bits, 3, 0)  # an entry can be cleared again without touching others
    assert bytes(bits) == b"\x09\x44\xf9"


def test_the_list_is_a_signed_status_list_token(world: Flask) -> None:
    client = world.test_client()
    response = client.get("/status/0")
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    claims = fetch_list(client)
    assert claims["sub"] == PUBLIC + "/status/0"
    assert claims["ttl"] == 300
    assert claims["exp"] - claims["iat"] == status_list.LIFETIME
    assert set(claims) == {"iss", "sub", "iat", "exp", "ttl", "status_list"}
    assert len(entries(claims)) == 2**20 // 4  # one fixed size: list n is always the same slots
    again = client.get("/status/0", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_a_rotated_key_signs_the_next_list(world: Flask) -> None:
    client = world.test_client()
    before = header_of(client.get("/status/0").text)["kid"]
    with world.app_context():
        rotated = signing.rotate()
    token = client.get("/status/0").text
    assert before != rotated
    assert header_of(token)["kid"] == rotated
    assert jose_verify(client, token, "statuslist+jwt")["status_list"]["bits"] == 2


def header_of(token: str) -> dict[str, Any]:
    segment = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


def test_active_ids_are_valid(world: Flask) -> None:
    bits = entries(fetch_list(world.test_client()))
    assert status_at(bits, index_of(world, FATIMA.civil_id)) == VALID
    assert status_at(bits, index_of(world, NASSER.civil_id)) == VALID


def test_each_change_is_in_the_next_fetched_list(world: Flask) -> None:
    """Write-through: a list fetched (and cached) before a change is never served after it."""
    assert status_of(world, FATIMA.civil_id) == VALID
    change(world, FATIMA.civil_id, "suspend")
    assert status_of(world, FATIMA.civil_id) == SUSPENDED
    change(world, FATIMA.civil_id, "reinstate")
    assert status_of(world, FATIMA.civil_id) == VALID
    change(world, FATIMA.civil_id, "revoke")
    assert status_of(world, FATIMA.civil_id) == INVALID
    assert status_of(world, NASSER.civil_id) == VALID  # the neighbour's bits are untouched


def test_the_holders_status_in_the_register_counts_like_a_live_check(world: Flask) -> None:
    """The bulk import (Core UPDATEs) also reaches the list: a deceased holder's ID is invalid."""
    for holder_status, expected in (("inactive", SUSPENDED), ("deceased", INVALID)):
        add_people(world, replace(NASSER, status=holder_status))
        assert status_of(world, NASSER.civil_id) == expected
    add_people(world, NASSER)
    assert status_of(world, NASSER.civil_id) == VALID


# Every combination of a credential's status and its holder's, written out: the list must say
# what a live check says (identity.models.standing is the one rule both read).
EVERY_COMBINATION = {
    ("active", "active"): VALID, ("active", "suspended"): SUSPENDED,
    ("active", "inactive"): SUSPENDED, ("active", "deceased"): INVALID,
    ("suspended", "active"): SUSPENDED, ("suspended", "suspended"): SUSPENDED,
    ("suspended", "inactive"): SUSPENDED, ("suspended", "deceased"): INVALID,
    ("revoked", "active"): INVALID, ("revoked", "suspended"): INVALID,
    ("revoked", "inactive"): INVALID, ("revoked", "deceased"): INVALID,
}  # fmt: skip


def test_the_list_agrees_with_the_live_verdict_for_every_combination() -> None:
    assert set(EVERY_COMBINATION) == {
        (c, h) for c in CREDENTIAL_STATUSES for h in BENEFICIARY_STATUSES
    }
    for (credential_status, holder_status), expected in EVERY_COMBINATION.items():
        assert status_list.entry(credential_status, holder_status) == expected
        live = {VALID: "valid", SUSPENDED: "suspended", INVALID: "revoked"}[expected]
        assert standing(credential_status, holder_status) == live


def test_an_index_is_never_reused(world: Flask) -> None:
    old = index_of(world, FATIMA.civil_id)
    change(world, FATIMA.civil_id, "revoke")
    issue_ids(world, FATIMA)
    new = index_of(world, FATIMA.civil_id)
    assert new > max(old, index_of(world, NASSER.civil_id))
    bits = entries(fetch_list(world.test_client()))
    assert (status_at(bits, old), status_at(bits, new)) == (INVALID, VALID)


def test_a_second_list_starts_at_index_2_to_the_20(world: Flask) -> None:
    index = status_list.SIZE + 5
    with world.app_context():
        person = find(db.session(), NASSER.civil_id)
        assert person is not None
        now = utcnow()
        db.session().execute(
            insert(Credential.__table__),  # type: ignore[arg-type]
            [{"status_index": index, "id": "secondListCred01", "beneficiary_id": person.id,
              "status": "suspended", "changed_by": "test", "changed_at": now, "issued_at": now,
              "issued_by": "test"}],
        )  # fmt: skip
        db.session().commit()
    client = world.test_client()
    claims = fetch_list(client, 1)
    assert claims["sub"] == PUBLIC + "/status/1"
    assert status_at(entries(claims), 5) == SUSPENDED
    assert client.get("/status/2").status_code == 404


@pytest.mark.parametrize("path", ["/status/1", "/status/" + "9" * 5000, "/status/-1", "/status/x"])
def test_an_unknown_list_is_404_in_the_error_shape(world: Flask, path: str) -> None:
    client = world.test_client()
    response = client.get(path, headers={"Accept": "application/statuslist+jwt"})
    assert response.status_code == 404
    conforms(openapi(client), "/status/{list}", "get", response)
    assert response.json is not None and response.json["error"]["code"] == "not-found"


def test_the_list_is_read_only(world: Flask) -> None:
    response = world.test_client().post("/status/0")
    assert response.status_code == 405
    assert response.json is not None and response.json["error"]["code"] == "method-not-allowed"
    assert "GET" in response.headers["Allow"]


def test_the_credential_token_points_at_its_entry_and_verifies(world: Flask) -> None:
    client = world.test_client()
    response = client.get(
        "/api/v1/me/credential", headers={"Authorization": f"Bearer {api_sign_in(world)}"}
    )
    assert response.status_code == 200, response.json
    conforms(openapi(client), "/api/v1/me/credential", "get", response)
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body is not None
    claims = jose_verify(client, body["credential"], "hwcred")
    # Nothing personal: the opaque id, times and the status list reference only.
    assert set(claims) == {"iss", "sub", "iat", "exp", "status"}
    assert claims["sub"] == credential_id(world, FATIMA.civil_id)
    assert claims["exp"] == body["expires_at"]
    reference = claims["status"]["status_list"]
    assert reference == {"idx": index_of(world, FATIMA.civil_id), "uri": PUBLIC + "/status/0"}
    # An offline verifier: follow the uri, then read the entry.
    change(world, FATIMA.civil_id, "suspend")
    path = reference["uri"].removeprefix(PUBLIC)
    listed = jose_verify(client, client.get(path).text, "statuslist+jwt")
    assert listed["sub"] == reference["uri"]
    assert status_at(entries(listed), reference["idx"]) == SUSPENDED


def test_the_credential_token_needs_a_session(world: Flask) -> None:
    client = world.test_client()
    response = client.get("/api/v1/me/credential")
    assert response.status_code == 401
    conforms(openapi(client), "/api/v1/me/credential", "get", response)
    assert response.json is not None and response.json["error"]["code"] == "unauthorized"


def test_a_rolled_back_change_leaves_the_cached_list_alone(app: Flask) -> None:
    """Only a commit starts a new version: a rolled-back write costs no rebuild."""
    add_people(app, FATIMA)
    with app.app_context():
        first = status_list.version()
        session = db.session()
        person = find(session, FATIMA.civil_id)
        assert person is not None
        person.status = "deceased"
        session.flush()
        session.rollback()
        assert status_list.version() == first
        person = find(session, FATIMA.civil_id)
        assert person is not None
        person.status = "deceased"
        session.commit()
        assert status_list.version() != first
