"""The phone ID card: a QR anyone can check, refreshing itself, with no personal data."""

import base64
import io
import json
import time
from typing import Any, cast

import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet, KeySetSerialization
from PIL import Image
from sqlalchemy import select

from identity import db, qr, signing
from identity.digital_id import credentials
from identity.models import Beneficiary, Credential
from identity.register.beneficiaries import find
from tests.factories import (
    FATIMA,
    add_people,
    api_sign_in,
    clock_at,
    web_sign_in,
)


@pytest.fixture
def browser(app: Flask) -> FlaskClient:
    """A phone browser signed in as Fatima."""
    add_people(app, FATIMA)
    return web_sign_in(app)


def token_of(url: str) -> str:
    """The compact JWS of a card's QR URL (its dense form of digits, decoded)."""
    token = credentials.from_numeric(url.rsplit("/", 1)[1])
    assert token is not None
    return token


def claims_of(url: str) -> dict[str, Any]:
    payload = token_of(url).split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_the_card_page_shows_names_status_and_a_qr(browser: FlaskClient) -> None:
    page = browser.get("/me/card")
    assert page.status_code == 200
    assert FATIMA.full_name_ar in page.text and FATIMA.full_name_en in page.text
    assert "<svg" in page.text and "status-active" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert 'rel="manifest"' in page.text


def test_the_card_page_needs_a_session(client: FlaskClient) -> None:
    assert client.get("/me/card").status_code == 302
    refresh = client.get("/me/card.json", headers={"Accept": "application/json"})
    assert refresh.status_code == 401
    assert refresh.json["error"]["code"] == "unauthorized"


def test_the_qr_decodes_and_verifies_with_an_independent_jose_library(
    app: Flask, browser: FlaskClient
) -> None:
    """The whole chain a verifier walks: PNG → zxing-cpp → URL → joserfc against our JWKS."""
    state = browser.get("/me/card.json", headers={"Accept": "application/json"}).json
    [barcode] = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.png(state["qr"]))))
    assert barcode.text == state["qr"]
    assert barcode.text.startswith(app.config["PUBLIC_URL"] + "/v/")
    digits = barcode.text.rsplit("/", 1)[1]
    # The dense form, read as any verifier would (two digits per character, plus 45), not by ours.
    token = "".join(chr(int(digits[i : i + 2]) + 45) for i in range(0, len(digits), 2))
    key_set = KeySet.import_key_set(
        cast(KeySetSerialization, browser.get("/.well-known/jwks.json").json)
    )
    verified = jose_jwt.decode(token, key_set, algorithms=["ES256"])
    assert verified.header["typ"] == credentials.PHONE_TYP
    assert verified.claims["exp"] - verified.claims["iat"] == app.config["QR_TTL"]
    with app.app_context():
        credential = db.session().scalar(
            select(Credential).where(Credential.id == verified.claims["sub"])
        )
        assert credential is not None and verified.claims["sli"] == credential.status_index
    assert qr.version(state["qr"], qr.PHONE_ERROR) <= qr.PHONE_MAX_VERSION


def test_the_token_holds_no_personal_data(browser: FlaskClient) -> None:
    url = browser.get("/me/card.json", headers={"Accept": "application/json"}).json["qr"]
    text = json.dumps(claims_of(url), ensure_ascii=False)
    for personal in (FATIMA.civil_id, FATIMA.file_number, FATIMA.phone, "Fatima", "فاطمة"):
        assert personal not in text


def test_each_refresh_gives_a_new_token_that_lives_qr_ttl(browser: FlaskClient) -> None:
    first = browser.get("/me/card.json", headers={"Accept": "application/json"}).json
    assert 0 < first["expires_in"] <= 60
    assert first["expires_at"] - int(time.time()) <= 60
    assert first["svg"].startswith("<svg")


def test_the_api_gives_the_app_its_card(app: Flask) -> None:
    add_people(app, FATIMA)
    token = api_sign_in(app)
    client = app.test_client()
    card = client.get("/api/v1/me/card", headers={"Authorization": f"Bearer {token}"})
    assert card.status_code == 200
    assert set(card.json) == {"qr", "expires_at", "status"}
    assert card.json["status"] == "active"
    assert client.get("/api/v1/me/card").status_code == 401
    wrong = client.get("/api/v1/me/card", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def scan(client: FlaskClient, url: str) -> str:
    page = client.get(url.replace("http://127.0.0.1:5000", ""))
    assert page.status_code == 200
    marker = 'data-verdict="'
    return page.text.split(marker, 1)[1].split('"', 1)[0]


def test_scanning_shows_the_live_verdict_with_the_name(app: Flask, browser: FlaskClient) -> None:
    url = browser.get("/me/card.json", headers={"Accept": "application/json"}).json["qr"]
    verifier = app.test_client()
    page = verifier.get(url.replace(app.config["PUBLIC_URL"], ""))
    assert 'data-verdict="valid"' in page.text and FATIMA.full_name_ar in page.text
    assert FATIMA.civil_id not in page.text and FATIMA.phone not in page.text
    with app.app_context():
        session = db.session()
        person = find(session, FATIMA.civil_id)
        assert person is not None
        credential = credentials.current(session, person.id)
        assert credential is not None
        credential.status = "revoked"
        session.commit()
    assert scan(verifier, url) == "revoked"


def test_a_tampered_token_is_not_genuine(app: Flask, browser: FlaskClient) -> None:
    url = browser.get("/me/card.json", headers={"Accept": "application/json"}).json["qr"]
    head, _payload, signature = token_of(url).split(".")
    claims = claims_of(url)
    claims["exp"] += 3600
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert scan(app.test_client(), f"/v/{head}.{forged}.{signature}") == "invalid"
    dense = credentials.numeric(f"{head}.{forged}.{signature}")
    assert scan(app.test_client(), f"/v/{dense}") == "invalid"
    # The genuine dense form with one pair changed: another character, not our signature.
    genuine = url.rsplit("/", 1)[1]
    changed = genuine[:-2] + ("12" if genuine[-2:] != "12" else "13")
    assert scan(app.test_client(), f"/v/{changed}") == "invalid"
    # Not a dense form at all: an odd count, a pair past "z", a pair that is no token character.
    for digits in (genuine[:-1], genuine[:-2] + "99", genuine[:-2] + "02"):
        assert scan(app.test_client(), f"/v/{digits}") == "invalid"
    assert scan(app.test_client(), "/v/not-a-token") == "invalid"
    assert scan(app.test_client(), "/v/" + "a" * 5000) == "invalid"


def test_a_screenshot_stops_working_after_a_minute(
    app: Flask, browser: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = browser.get("/me/card.json", headers={"Accept": "application/json"}).json["qr"]
    later = time.time() + 61 + 5
    monkeypatch.setattr("identity.clock.now", clock_at(later))
    assert scan(app.test_client(), url) == "expired"


def test_a_rotated_key_still_verifies_cards_shown_before(app: Flask, browser: FlaskClient) -> None:
    url = browser.get("/me/card.json", headers={"Accept": "application/json"}).json["qr"]
    with app.app_context():
        signing.rotate()
    assert scan(app.test_client(), url) == "valid"
    fresh = browser.get("/me/card.json", headers={"Accept": "application/json"}).json["qr"]
    assert fresh != url


def test_the_first_sign_in_issued_the_id(app: Flask, browser: FlaskClient) -> None:
    with app.app_context():
        session = db.session()
        person = session.query(Beneficiary).one()
        assert session.query(Credential).filter_by(beneficiary_id=person.id).count() == 1


def test_installable_files_are_served(client: FlaskClient) -> None:
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    assert manifest.json["start_url"] == "/me/card"
    worker = client.get("/sw.js")
    assert worker.mimetype == "text/javascript" and "caches" in worker.text
    offline = client.get("/offline")
    assert offline.status_code == 200 and "لا يوجد اتصال" in offline.text


def test_the_openapi_document_describes_the_card(app: Flask) -> None:
    add_people(app, FATIMA)
    token = api_sign_in(app)
    client = app.test_client()
    card = client.get("/api/v1/me/card", headers={"Authorization": f"Bearer {token}"}).json
    spec = client.get("/api/v1/openapi.json").json["paths"]["/api/v1/me/card"]["get"]
    schema = spec["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == set(card)
    assert card["status"] in schema["properties"]["status"]["enum"]
