"""The edge of every request (identity/web/inputs.py) and the free text people read: bad input is a
clear 4xx and changes nothing, on SQLite and on PostgreSQL."""

import io
import json
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from identity import db
from identity.digital_id import credentials
from identity.models import AuditEvent, Document, VerificationEvent
from identity.web import inputs
from tests.apps import https_client
from tests.factories import (
    FATIMA,
    add_people,
    api_sign_in,
    backoffice_token,
    csrf_from,
    issue_ids,
    make_agency,
    make_pdf,
    phone_url,
    staff_sign_in,
)

DEEP = "[" * 1000 + "]" * 1000  # 2 KB: a RecursionError in the parser before inputs.py
INVALID = "invalid-input"


@dataclass
class Office:
    """Fatima with an active ID and a document, and the keys to change them."""

    app: Flask
    credential_id: str
    document_id: int
    backoffice: dict[str, str]
    agency: dict[str, str]


@pytest.fixture
def office(any_app: Flask) -> Office:
    add_people(any_app, FATIMA)
    [credential_id] = issue_ids(any_app, FATIMA)
    backoffice = {"Authorization": f"Bearer {backoffice_token(any_app)}"}
    issued = any_app.test_client().post(
        "/api/v1/documents",
        headers=backoffice,
        content_type="multipart/form-data",
        data={"civil_id": FATIMA.civil_id, "type": "letter", "title": "Housing letter",
              "office": "Housing", "file": (io.BytesIO(make_pdf(1)), "a.pdf")},
    )  # fmt: skip
    assert issued.status_code == 201, issued.json
    agency = {"Authorization": f"Bearer {make_agency(any_app, rate_limit=10_000)}"}
    return Office(any_app, credential_id, issued.json["id"], backoffice, agency)


def audit_count(app: Flask) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(AuditEvent)) or 0


def statuses(office: Office) -> tuple[str, str]:
    with office.app.app_context():
        session = db.session()
        credential = credentials.by_id(session, office.credential_id)
        document = session.get(Document, office.document_id)
        assert credential is not None and document is not None
        return credential.status, document.status


def refused(response: TestResponse, status: int = 400) -> bool:
    """An API refusal in the one error shape."""
    body = response.json
    return response.status_code == status and set(body["error"]) == {"code", "message"}


@pytest.mark.parametrize(
    "path", ["/api/v1/auth/start", "/api/v1/auth/verify", "/api/v1/beneficiaries/288020122596"]
)
def test_json_nested_a_thousand_deep_is_refused_not_a_crash(any_app: Flask, path: str) -> None:
    """Prevents a RecursionError (500) from 2 KB of brackets, even before any sign-in."""
    client = any_app.test_client()
    method = client.put if "beneficiaries" in path else client.post
    response = method(path, data=DEEP, content_type="application/json")
    assert response.status_code in (400, 401)
    if "auth" in path:
        assert refused(response) and response.json["error"]["code"] == INVALID
        assert "nested" in response.json["error"]["message"]


def test_json_a_little_too_deep_is_refused_and_shallow_json_still_parses(app: Flask) -> None:
    """The bound is exact: 32 levels parse, 33 do not."""
    client = app.test_client()
    nested: object = "x"
    for _ in range(inputs.MAX_JSON_DEPTH - 1):
        nested = [nested]
    fine = client.post("/api/v1/auth/start", json={"civil_id": nested, "file_number": "1"})
    too_deep = client.post("/api/v1/auth/start", json={"civil_id": [nested], "file_number": "1"})
    assert fine.status_code == 400 and "nested" not in fine.json["error"]["message"]
    assert too_deep.status_code == 400 and "nested" in too_deep.json["error"]["message"]


@pytest.mark.parametrize("bad", ["x\x00yz", "bad \ud800 reason", "\udfff\ud800"])
def test_nul_and_lone_surrogates_in_json_are_refused(office: Office, bad: str) -> None:
    """Prevents a 500 from PostgreSQL (NUL) or the UTF-8 encoder (a lone surrogate)."""
    client, before = office.app.test_client(), audit_count(office.app)
    calls = [
        (f"/api/v1/credentials/{office.credential_id}/revoke", {"reason": bad}, office.backoffice),
        (f"/api/v1/documents/{office.document_id}/revoke", {"reason": bad}, office.backoffice),
        ("/api/v1/verify", {"qr": phone_url(office.app), "purpose": bad}, office.agency),
        ("/api/v1/verify", {"qr": bad, "purpose": "Eligibility"}, office.agency),
        ("/api/v1/auth/start", {"civil_id": FATIMA.civil_id, bad: 1}, {}),
    ]
    for path, body, headers in calls:
        raw = json.dumps(body)  # \u escapes: how a client sends a lone surrogate
        response = client.post(path, data=raw, content_type="application/json", headers=headers)
        assert refused(response), (path, response.status_code)
        assert response.json["error"]["code"] == INVALID
    assert statuses(office) == ("active", "valid")
    assert audit_count(office.app) == before


def test_nul_in_a_path_a_query_or_a_form_is_refused(office: Office) -> None:
    """Prevents a 500 from PostgreSQL for /d/<ref>%00, POST /d, console names and filters."""
    client = https_client(office.app)
    staff_sign_in(client, "admin")
    token = csrf_from(client.get("/d").text)
    before = audit_count(office.app)
    with office.app.app_context():
        reference = db.session().get(Document, office.document_id).reference  # type: ignore[union-attr]
    pages = [
        client.get(f"/d/{reference}%00"),
        client.get("/v/a.b.c%00"),
        client.post("/d", data={"number": "HW-2026-000001\x00", "code": "x", "csrf_token": token}),
        client.get("/staff/search?q=Fatima%00"),
        client.get("/staff/audit?actor=%00&subject=x"),
        client.post(
            "/staff/agencies",
            data={"name": "Agency\x00", "purpose": "Checks", "scope": "name", "csrf_token": token},
        ),
        client.post(
            f"/staff/credentials/{office.credential_id}/revoke",
            data={"reason": "Fraud\x00", "csrf_token": token},
        ),
    ]
    for page in pages:
        assert page.status_code == 400, page.request.path
    assert statuses(office) == ("active", "valid")
    assert audit_count(office.app) == before


@pytest.mark.parametrize(
    "reason",
    ["Fraud \u202edetcevor", "Fraud\x1b[31m", "two\nlines", "tab\there", "sep\u2028line",
     "iso\u2066late\u2069", "del\x7f"],
)  # fmt: skip
def test_control_and_bidi_characters_in_a_reason_are_refused(office: Office, reason: str) -> None:
    """A reason is shown to people: it must read as what it says."""
    client, before = office.app.test_client(), audit_count(office.app)
    for path in (
        f"/api/v1/credentials/{office.credential_id}/suspend",
        f"/api/v1/documents/{office.document_id}/revoke",
    ):
        response = client.post(path, json={"reason": reason}, headers=office.backoffice)
        assert refused(response), path
        assert "control characters" in response.json["error"]["message"]
    assert statuses(office) == ("active", "valid")
    assert audit_count(office.app) == before


@pytest.mark.parametrize("purpose", ["Eligibility \u202e", "\u2067Eligibility", "a\x00b", "a\rb"])
def test_control_and_bidi_characters_in_a_purpose_are_refused(office: Office, purpose: str) -> None:
    """The beneficiary reads the purpose on "who checked me"; no event is recorded."""
    client = office.app.test_client()
    response = client.post(
        "/api/v1/verify",
        json={"qr": phone_url(office.app), "purpose": purpose},
        headers=office.agency,
    )
    assert refused(response)
    with office.app.app_context():
        assert db.session().scalar(select(func.count()).select_from(VerificationEvent)) == 0


def test_direction_marks_in_mixed_text_are_accepted(office: Office) -> None:
    """RLM, LRM and ALM only order the neutral characters beside them: Arabic text needs them."""
    client = office.app.test_client()
    purpose = "التحقق من الأهلية \u200fHW-2026\u200e \u061c"
    response = client.post(
        "/api/v1/verify", json={"qr": phone_url(office.app), "purpose": purpose},
        headers=office.agency,
    )  # fmt: skip
    assert response.status_code == 200 and response.json["result"] == "valid"


def test_a_civil_id_typed_in_a_reason_is_masked_in_the_audit_not_refused(office: Office) -> None:
    """Prevents the audit guard refusing the revocation (500) over "Letter 202612010001"."""
    client = office.app.test_client()
    reason = "Letter 202612010001 of the board"
    response = client.post(
        f"/api/v1/credentials/{office.credential_id}/revoke",
        json={"reason": reason},
        headers=office.backoffice,
    )
    assert response.status_code == 200 and response.json["status"] == "revoked"
    document = client.post(
        f"/api/v1/documents/{office.document_id}/revoke",
        json={"reason": "Replaced by ٢٠٢٦١٢٠١٠٠٠١"},
        headers=office.backoffice,
    )
    assert document.status_code == 200
    with office.app.app_context():
        session = db.session()
        details = [json.loads(e.details) for e in session.scalars(select(AuditEvent))]
    reasons = [d["reason"] for d in details if "reason" in d]
    assert reasons == ["Letter ********0001 of the board", "Replaced by ********0001"]
    assert statuses(office) == ("revoked", "revoked")


@pytest.mark.parametrize(
    "number",
    [str(2**31), str(2**63 - 1), str(2**63), str(2**64), "9" * 30, "٣", "0" * 40 + "1"],
)
def test_ids_past_what_an_id_column_holds_are_not_found(office: Office, number: str) -> None:
    """Prevents OverflowError (SQLite) and int4 out of range (PostgreSQL): a plain 404."""
    client = https_client(office.app)
    staff_sign_in(client, "admin")
    token = csrf_from(client.get("/d").text)
    before = audit_count(office.app)
    answers = [
        client.get(f"/api/v1/documents/{number}", headers=office.backoffice),
        client.get(f"/api/v1/documents/{number}/pdf", headers=office.backoffice),
        client.post(f"/api/v1/documents/{number}/revoke", json={"reason": "Fraud"},
                    headers=office.backoffice),
        client.get(f"/status/{number}"),
        client.get(f"/staff/beneficiaries/{number}"),
        client.post(f"/staff/agencies/{number}/disable", data={"csrf_token": token}),
        client.post(f"/staff/staff/{number}/disable", data={"csrf_token": token}),
    ]  # fmt: skip
    for answer in answers:
        assert answer.status_code == 404, (answer.request.path, answer.status_code)
    assert audit_count(office.app) == before


def test_integers_past_2_63_in_a_json_body_are_refused(office: Office) -> None:
    """A JSON number no column can hold is refused as it is parsed, whatever the field."""
    client = office.app.test_client()
    path = f"/api/v1/documents/{office.document_id}/supersede"
    for number in (2**63, -(2**64), 10**30):
        response = client.post(
            path, json={"by": number, "reason": "Replaced"}, headers=office.backoffice
        )
        assert refused(response) and response.json["error"]["code"] == INVALID
    assert statuses(office) == ("active", "valid")


@pytest.mark.parametrize("before", ["²", "١٢", "9" * 40, str(2**31), str(2**63), "-1", "1e3"])
def test_a_strange_before_cursor_is_ignored(office: Office, before: str) -> None:
    """`str.isdigit` took "²" and `int` then failed (500); such a cursor now means none."""
    client = https_client(office.app)
    staff_sign_in(client, "auditor")
    assert client.get("/staff/audit", query_string={"before": before}).status_code == 200
    holder = {"Authorization": f"Bearer {api_sign_in(office.app)}"}
    answer = office.app.test_client().get(
        "/api/v1/me/verifications", query_string={"before": before}, headers=holder
    )
    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", 1), ("0042", 42), (str(2**31 - 1), 2**31 - 1), (str(2**31), None), ("²", None),
     ("١", None), ("", None), (" 1", None), ("+1", None)],
)  # fmt: skip
def test_whole_number(raw: str, expected: int | None) -> None:
    assert inputs.whole_number(raw) == expected


def test_form_fields_are_checked_only_as_text(client: FlaskClient) -> None:
    """An ordinary form still goes through the guard: Arabic, emoji and long text are fine."""
    token = csrf_from(client.get("/d").text)
    page = client.post("/d", data={"number": "رقم 😀" * 10, "code": "x", "csrf_token": token})
    assert page.status_code == 404


def test_a_form_part_whose_name_cannot_be_read_is_not_a_crash(client: FlaskClient) -> None:
    """Prevents the 500 a multipart part named `a\\` gave (werkzeug hands its key over as None)."""
    body = b'--B\r\nContent-Disposition: form-data; name="a\\"\r\n\r\nv\r\n--B--\r\n'
    answer = client.post(
        "/api/v1/documents", data=body, content_type="multipart/form-data; boundary=B"
    )
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "unauthorized"
