"""The back-office API: the register and digital IDs changed by the agency's own systems."""

import pytest
from flask import Flask
from sqlalchemy import select

from identity import db
from identity.models import AuditEvent, Credential
from tests.factories import FATIMA, backoffice_token, make_agency, phone_url, sms_sink

BODY = {
    "file_number": FATIMA.file_number,
    "full_name_ar": FATIMA.full_name_ar,
    "full_name_en": FATIMA.full_name_en,
    "phone": FATIMA.phone,
    "status": "active",
}


@pytest.fixture
def headers(world: Flask) -> dict[str, str]:
    return {"Authorization": f"Bearer {backoffice_token(world)}"}


def credential_id(app: Flask) -> str:
    with app.app_context():
        return db.session().scalars(select(Credential.id)).one()


def verdict(app: Flask) -> str:
    key = app.config.setdefault("TEST_AGENCY_KEY", None) or make_agency(app)
    app.config["TEST_AGENCY_KEY"] = key
    answer = app.test_client().post(
        "/api/v1/verify",
        json={"qr": phone_url(app), "purpose": "check"},
        headers={"Authorization": f"Bearer {key}"},
    )
    return str(answer.json["result"])


def test_revoke_suspend_reinstate_are_seen_by_the_next_verification(world, headers) -> None:
    client = world.test_client()
    base = f"/api/v1/credentials/{credential_id(world)}"
    assert verdict(world) == "valid"
    assert (
        client.post(base + "/suspend", json={"reason": "Under review"}, headers=headers).json[
            "status"
        ]
        == "suspended"
    )
    assert verdict(world) == "suspended"
    client.post(base + "/reinstate", json={"reason": "Review closed"}, headers=headers)
    assert verdict(world) == "valid"
    client.post(base + "/revoke", json={"reason": "Fraud"}, headers=headers)
    assert verdict(world) == "revoked"
    with world.app_context():
        actions = db.session().scalars(select(AuditEvent.action)).all()
    for action in ("credential.suspend", "credential.reinstate", "credential.revoke"):
        assert action in actions


@pytest.mark.parametrize(
    ("steps", "status", "code"),
    [
        (["reinstate"], 409, "conflict"),
        (["revoke", "reinstate"], 409, "conflict"),
        (["revoke", "suspend"], 409, "conflict"),
        (["suspend", "suspend"], 409, "conflict"),
    ],
)
def test_impossible_changes_are_409(
    world, headers, steps: list[str], status: int, code: str
) -> None:
    client = world.test_client()
    base = f"/api/v1/credentials/{credential_id(world)}"
    for step in steps:
        last = client.post(f"{base}/{step}", json={"reason": "Because"}, headers=headers)
    assert last.status_code == status and last.json["error"]["code"] == code


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "x" * 201}, {"reason": 5}])
def test_a_reason_is_mandatory(world, headers, body: dict) -> None:
    response = world.test_client().post(
        f"/api/v1/credentials/{credential_id(world)}/revoke", json=body, headers=headers
    )
    assert response.status_code == 400
    assert verdict(world) == "valid"


def test_unknown_credentials_and_actions(world, headers) -> None:
    client = world.test_client()
    assert (
        client.post(
            "/api/v1/credentials/nope/revoke", json={"reason": "abc"}, headers=headers
        ).status_code
        == 404
    )
    response = client.post(
        f"/api/v1/credentials/{credential_id(world)}/delete",
        json={"reason": "abc"},
        headers=headers,
    )
    assert response.status_code == 404


def test_a_beneficiary_set_to_deceased_no_longer_verifies(world, headers) -> None:
    response = world.test_client().put(
        f"/api/v1/beneficiaries/{FATIMA.civil_id}",
        json={**BODY, "status": "deceased"},
        headers=headers,
    )
    assert response.status_code == 200 and response.json["status"] == "deceased"
    assert verdict(world) == "revoked"


def test_put_creates_then_updates_and_get_shows_id_and_documents(world, headers) -> None:
    client = world.test_client()
    new_id = "246070187798"
    created = client.put(
        f"/api/v1/beneficiaries/{new_id}",
        headers=headers,
        json={
            **BODY,
            "file_number": "098703",
            "full_name_ar": "ناصر علي الهاجري",
            "full_name_en": "Nasser Ali Al-Hajri",
            "phone": "+96590810111",
        },
    )
    assert created.status_code == 201 and created.json["credential"] is None
    fetched = client.get(f"/api/v1/beneficiaries/{FATIMA.civil_id}", headers=headers).json
    assert fetched["credential"]["status"] == "active" and fetched["documents"] == []
    unchanged = client.put(f"/api/v1/beneficiaries/{FATIMA.civil_id}", json=BODY, headers=headers)
    assert unchanged.status_code == 200


def test_a_new_phone_is_audited_and_the_old_number_is_told(world, headers) -> None:
    response = world.test_client().put(
        f"/api/v1/beneficiaries/{FATIMA.civil_id}",
        json={**BODY, "phone": "+96599887766"},
        headers=headers,
    )
    assert response.json["phone"] == "+96599887766"
    [(to, text)] = sms_sink(world).messages
    assert to == FATIMA.phone and "changed" in text
    with world.app_context():
        event = (
            db.session()
            .scalars(select(AuditEvent).where(AuditEvent.action == "beneficiary.update"))
            .one()
        )
    assert '"phone_changed":true' in event.details and "+965" not in event.details


def test_a_put_that_fails_after_the_write_tells_nobody(world, headers, monkeypatch) -> None:
    """The request ends without a commit: the phone change is rolled back and never told."""
    from identity.web import backoffice

    def fail(*_args: object) -> None:
        raise RuntimeError("the answer could not be built")

    monkeypatch.setattr(backoffice, "find", fail)
    client = world.test_client()
    response = client.put(
        f"/api/v1/beneficiaries/{FATIMA.civil_id}",
        json={**BODY, "phone": "+96599887766"},
        headers=headers,
    )
    assert response.status_code == 500
    monkeypatch.undo()
    assert sms_sink(world).messages == []
    with world.app_context():
        actions = db.session().scalars(select(AuditEvent.action)).all()
    assert not [action for action in actions if action.startswith("beneficiary.")]
    fetched = client.get(f"/api/v1/beneficiaries/{FATIMA.civil_id}", headers=headers)
    assert fetched.json["phone"] == FATIMA.phone


@pytest.mark.parametrize(
    ("path_id", "body", "status"),
    [
        ("12345", BODY, 400),
        (FATIMA.civil_id, {**BODY, "phone": "12345"}, 400),
        (FATIMA.civil_id, {**BODY, "status": "alive"}, 400),
        (FATIMA.civil_id, {**BODY, "full_name_ar": "Fatima"}, 400),
        (FATIMA.civil_id, {**BODY, "file_number": 4512}, 400),
        (FATIMA.civil_id, {"status": "active"}, 400),
    ],
)
def test_bad_register_changes_are_refused_and_change_nothing(
    world, headers, path_id: str, body: dict, status: int
) -> None:
    client = world.test_client()
    response = client.put(f"/api/v1/beneficiaries/{path_id}", json=body, headers=headers)
    assert response.status_code == status
    assert set(response.json["error"]) == {"code", "message"}
    assert (
        client.get(f"/api/v1/beneficiaries/{FATIMA.civil_id}", headers=headers).json["phone"]
        == FATIMA.phone
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", f"/api/v1/beneficiaries/{FATIMA.civil_id}"),
        ("put", f"/api/v1/beneficiaries/{FATIMA.civil_id}"),
        ("post", "/api/v1/credentials/x/revoke"),
        ("post", "/api/v1/documents/1/revoke"),
        ("get", "/api/v1/documents/1/pdf"),
    ],
)
@pytest.mark.parametrize("who", ["anonymous", "agency", "holder", "wrong"])
def test_only_a_back_office_token_opens_the_back_office(
    world: Flask, method: str, path: str, who: str
) -> None:
    from tests.factories import api_sign_in

    tokens = {
        "anonymous": None,
        "agency": make_agency(world, name=f"Agency {method}{len(path)}"),
        "holder": api_sign_in(world) if who == "holder" else None,
        "wrong": "hwb_" + "x" * 43,
    }
    token = tokens[who]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = getattr(world.test_client(), method)(path, json={"reason": "abc"}, headers=headers)
    assert response.status_code == 401
