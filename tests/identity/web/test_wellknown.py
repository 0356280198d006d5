"""`/.well-known/jwks.json`: public keys only, enough for any JOSE library to verify our tokens."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, KeySet, KeySetSerialization

from identity import signing


@pytest.fixture
def app(keyless_app: Flask) -> Flask:
    """These tests make their own keys: start from a keys folder as `hawiya init` finds it."""
    return keyless_app


ISSUER = "http://127.0.0.1:5000"
TYP = "hawiya-id+jwt"
PUBLIC_MEMBERS = {"kty", "crv", "x", "y", "kid", "alg", "use"}


@pytest.fixture
def served(app: Flask) -> Iterator[FlaskClient]:
    """A client of an app with one signing key, inside an app context to sign with."""
    signing.create_key(Path(app.config["KEYS_DIR"]))
    with app.app_context():
        yield app.test_client()


def fetch(client: FlaskClient) -> dict[str, Any]:
    """Fetch the JWKS as a verifier would."""
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return dict(response.json or {})


def served_kids(client: FlaskClient) -> list[str]:
    return [key["kid"] for key in fetch(client)["keys"]]


def test_the_jwks_holds_only_public_members(served: FlaskClient) -> None:
    (key,) = fetch(served)["keys"]
    assert set(key) == PUBLIC_MEMBERS  # never "d"
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    assert key["kid"] == ECKey.import_key(key).thumbprint()  # RFC 7638, computed by joserfc


def test_an_independent_library_verifies_our_token_from_the_served_jwks(
    served: FlaskClient,
) -> None:
    now = int(time.time())
    token = signing.sign(
        {"iss": ISSUER, "sub": "c9Qz2xVb7WkR1mNp", "iat": now, "exp": now + 60}, TYP
    )
    key_set = KeySet.import_key_set(cast(KeySetSerialization, fetch(served)))
    verified = jose_jwt.decode(token, key_set, algorithms=["ES256"])
    jose_jwt.JWTClaimsRegistry(
        leeway=5, iss={"essential": True, "value": ISSUER}, sub={"essential": True}
    ).validate(verified.claims)
    assert verified.header == {"alg": "ES256", "typ": TYP, "kid": served_kids(served)[0]}
    assert verified.claims["sub"] == "c9Qz2xVb7WkR1mNp"


def test_after_rotation_both_keys_are_served_newest_first(served: FlaskClient) -> None:
    (old,) = served_kids(served)
    new = signing.rotate()
    assert served_kids(served) == [new, old]


def test_a_retired_key_is_not_served(served: FlaskClient) -> None:
    (old,) = served_kids(served)
    new = signing.rotate()
    signing.retire(old)
    assert served_kids(served) == [new]


def test_the_jwks_is_public_and_cacheable(served: FlaskClient) -> None:
    """Public and the same for everyone: unlike personal pages it may be cached and shared."""
    response = served.get("/.well-known/jwks.json")
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    again = served.get(
        "/.well-known/jwks.json", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304


def test_an_empty_folder_serves_an_empty_set(app: Flask) -> None:
    assert fetch(app.test_client()) == {"keys": []}
