"""Documents: stamped PDFs checked live by QR or by number and code, revoked, superseded."""

import hashlib
import io

import pypdfium2
import pytest
import zxingcpp
from flask import Flask
from sqlalchemy import func, select

from identity import db
from identity.models import AuditEvent, Document, DocumentFile
from tests import hostile_pdfs
from tests.apps import https_client
from tests.factories import (
    FATIMA,
    NASSER,
    add_people,
    api_sign_in,
    backoffice_token,
    csrf_from,
    make_pdf,
)


@pytest.fixture
def office(app: Flask) -> tuple[Flask, dict[str, str]]:
    """An app with two beneficiaries and a back-office token."""
    add_people(app, FATIMA, NASSER)
    return app, {"Authorization": f"Bearer {backoffice_token(app)}"}


def upload(app: Flask, headers: dict[str, str], pdf: bytes = b"", **fields: str):
    form = {
        "civil_id": FATIMA.civil_id,
        "type": "housing_file_statement",
        "title": "Housing file statement",
        "office": "Housing Welfare Authority",
        **fields,
    }
    data = {**form, "file": (io.BytesIO(pdf or make_pdf()), "letter.pdf")}
    return app.test_client().post(
        "/api/v1/documents", data=data, headers=headers, content_type="multipart/form-data"
    )


def qr_on_first_page(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    image = document[0].render(scale=200 / 72).to_pil()
    [barcode] = zxingcpp.read_barcodes(image)
    return barcode.text


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model)) or 0


def test_a_stamped_pdf_carries_a_qr_that_verifies_until_revoked(office) -> None:
    app, headers = office
    created = upload(app, headers)
    assert created.status_code == 201, created.json
    record = created.json
    assert set(record) >= {"id", "reference", "number", "code", "url", "pdf_url", "sha256"}
    pdf = app.test_client().get(record["pdf_url"], headers=headers).data
    assert hashlib.sha256(pdf).hexdigest() == record["sha256"]
    assert len(pypdfium2.PdfDocument(pdf)) == 3  # a free corner on page 1: no stamp page
    url = qr_on_first_page(pdf)
    assert url == record["url"]
    page = app.test_client().get(url.replace(app.config["PUBLIC_URL"], ""))
    assert 'data-verdict="valid"' in page.text and record["number"] in page.text
    assert FATIMA.full_name_ar in page.text
    revoked = app.test_client().post(
        f"/api/v1/documents/{record['id']}/revoke",
        json={"reason": "Issued in error"},
        headers=headers,
    )
    assert revoked.status_code == 200 and revoked.json["status"] == "revoked"
    page = app.test_client().get(url.replace(app.config["PUBLIC_URL"], ""))
    assert 'data-verdict="revoked"' in page.text and "Issued in error" in page.text


def test_a_pdf_altered_by_one_byte_fails_the_hash_check(office) -> None:
    app, headers = office
    record = upload(app, headers).json
    pdf = bytearray(app.test_client().get(record["pdf_url"], headers=headers).data)
    pdf[len(pdf) // 2] ^= 0x01
    assert hashlib.sha256(pdf).hexdigest() != record["sha256"]
    page = app.test_client().get(f"/d/{record['reference']}")
    assert f'data-sha256="{record["sha256"]}"' in page.text  # what the page's script compares


def test_the_agency_api_checks_documents_and_their_hash(office) -> None:
    from tests.factories import make_agency

    app, headers = office
    record = upload(app, headers).json
    key = make_agency(app)
    client = app.test_client()
    agency = {"Authorization": f"Bearer {key}"}
    answer = client.post(
        "/api/v1/verify",
        json={"qr": record["url"], "purpose": "Check", "sha256": record["sha256"]},
        headers=agency,
    )
    assert answer.json["result"] == "valid" and answer.json["kind"] == "document"
    assert answer.json["document"]["hash_matches"] is True
    altered = "0" * 64
    answer = client.post(
        "/api/v1/verify",
        json={"qr": record["url"], "purpose": "Check", "sha256": altered},
        headers=agency,
    )
    assert answer.json["document"]["hash_matches"] is False
    assert answer.json["receipt"]


def test_number_and_code_find_the_document(office) -> None:
    app, headers = office
    record = upload(app, headers).json
    client = https_client(app)
    token = csrf_from(client.get("/d").text)
    found = client.post(
        "/d", data={"number": record["number"], "code": record["code"].lower(), "csrf_token": token}
    )
    assert found.status_code == 303 and found.location.endswith(f"/d/{record['reference']}")
    for number, code in ((record["number"], "AAAA-AAAA"), ("HW-2026-999999", record["code"])):
        miss = client.post("/d", data={"number": number, "code": code, "csrf_token": token})
        assert miss.status_code == 404
        assert "لا يوجد مستند يطابق هذا الرقم والرمز" in miss.text


def test_guessing_codes_is_rate_limited(office) -> None:
    app, headers = office
    record = upload(app, headers).json
    client = https_client(app)
    token = csrf_from(client.get("/d").text)
    statuses = [
        client.post(
            "/d", data={"number": record["number"], "code": f"AAAA-{n:04d}", "csrf_token": token}
        ).status_code
        for n in range(11)
    ]
    assert statuses[:10] == [404] * 10 and statuses[10] == 429
    right = client.post(
        "/d", data={"number": record["number"], "code": record["code"], "csrf_token": token}
    )
    assert right.status_code == 429  # even the right code waits: no oracle while limited


def test_references_are_random_and_numbers_sequential(office) -> None:
    app, headers = office
    first, second = upload(app, headers).json, upload(app, headers).json
    assert len(first["reference"]) >= 22 and first["reference"] != second["reference"]
    assert first["reference"][:8] != second["reference"][:8]
    assert int(second["number"].rsplit("-", 1)[1]) == int(first["number"].rsplit("-", 1)[1]) + 1


def test_supersede_links_to_the_replacement(office) -> None:
    app, headers = office
    old, new = upload(app, headers).json, upload(app, headers).json
    response = app.test_client().post(
        f"/api/v1/documents/{old['id']}/supersede",
        json={"by": new["id"], "reason": "Updated"},
        headers=headers,
    )
    assert response.status_code == 200 and response.json["status"] == "superseded"
    page = app.test_client().get(f"/d/{old['reference']}")
    assert f"/d/{new['reference']}" in page.text
    with app.app_context():
        actions = db.session().scalars(select(AuditEvent.action)).all()
    assert "document.supersede" in actions and "document.issue" in actions


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b"", 400, None),
        (b"%PDF-1.4\nnot really", 400, None),
        (b"\x89PNG\r\n\x1a\n" + b"0" * 100, 415, None),
        (b"hello, world", 415, None),
    ],
)
def test_bad_uploads_are_refused_and_leave_nothing(
    office, payload: bytes, status: int, code
) -> None:
    app, headers = office
    data = {
        "civil_id": FATIMA.civil_id,
        "type": "letter",
        "title": "A letter",
        "office": "HQ",
        "file": (io.BytesIO(payload), "x.pdf"),
    }
    response = app.test_client().post(
        "/api/v1/documents", data=data, headers=headers, content_type="multipart/form-data"
    )
    assert response.status_code in (400, 413, 415)
    assert set(response.json["error"]) == {"code", "message"}
    assert count(app, Document) == 0 and count(app, DocumentFile) == 0


def test_a_too_large_upload_is_413(office) -> None:
    app, headers = office
    response = upload(app, headers, pdf=make_pdf() + b"%" + b"x" * (11 * 1024 * 1024))
    assert response.status_code == 413
    assert count(app, Document) == 0


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"civil_id": "261080414865"}, 404),
        ({"civil_id": "12"}, 400),
        ({"type": "love_letter"}, 400),
        ({"title": ""}, 400),
        ({"office": "x" * 500}, 400),
    ],
)
def test_bad_fields_are_refused(office, fields: dict[str, str], status: int) -> None:
    app, headers = office
    response = upload(app, headers, **fields)
    assert response.status_code == status
    assert count(app, Document) == 0


def test_the_back_office_api_needs_its_token(office) -> None:
    app, _headers = office
    assert upload(app, {}).status_code == 401
    assert upload(app, {"Authorization": "Bearer hwb_wrong"}).status_code == 401
    holder = api_sign_in(app)
    assert upload(app, {"Authorization": f"Bearer {holder}"}).status_code == 401


def test_a_beneficiary_sees_and_downloads_only_their_documents(office) -> None:
    app, headers = office
    mine = upload(app, headers).json
    theirs = upload(app, headers, civil_id=NASSER.civil_id).json
    token = api_sign_in(app)
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/v1/me/documents", headers=bearer).json["documents"]
    assert [d["number"] for d in listed] == [mine["number"]]
    assert client.get(f"/api/v1/me/documents/{mine['id']}/pdf", headers=bearer).status_code == 200
    assert client.get(f"/api/v1/me/documents/{theirs['id']}/pdf", headers=bearer).status_code == 404


def test_reflected_text_is_escaped(office) -> None:
    app, headers = office
    record = upload(app, headers, title='<script>alert("x")</script>').json
    page = app.test_client().get(f"/d/{record['reference']}")
    assert '<script>alert("x")' not in page.text and "&lt;script&gt;" in page.text
    client = https_client(app)
    token = csrf_from(client.get("/d").text)
    echoed = client.post("/d", data={"number": "<b>x</b>", "code": "x", "csrf_token": token})
    assert "<b>x</b>" not in echoed.text


# Every spelling of a number a person can type: what the lookup accepts, the limit counts.
SPELLINGS = (
    "{}\t", "\t{}", "{}\u00a0", "{}\u3000", " {} ", "{}\u200b", "{}\u00ad", "{}\r\n",
    "{}\u2003", "\u202f{}",
)  # fmt: skip


def test_every_spelling_of_a_number_shares_one_guessing_budget(office) -> None:
    """Prevents a tab, NBSP or ideographic space giving a fresh budget of guesses at a code."""
    app, headers = office
    record = upload(app, headers).json
    client = https_client(app)
    token = csrf_from(client.get("/d").text)
    spelled = [spelling.format(record["number"]) for spelling in SPELLINGS]

    def guess(number: str, code: str) -> int:
        form = {"number": number, "code": code, "csrf_token": token}
        return client.post("/d", data=form).status_code

    assert guess(spelled[0], record["code"]) == 303  # a spelling the lookup finds: a real guess
    assert [guess(number, "AAAA-AAAA") for number in spelled[:9]] == [404] * 9
    assert guess(spelled[9], record["code"]) == 429  # the 11th guess at this number


def test_a_number_spelled_like_an_address_leaves_that_address_its_budget(office) -> None:
    """Prevents exhausting someone's per-address budget by typing their address as a number."""
    app, headers = office
    record = upload(app, headers).json
    attacker, victim = https_client(app), https_client(app)
    token = csrf_from(attacker.get("/d").text)
    for _ in range(20):
        attacker.post(
            "/d",
            data={"number": "127.0.0.1", "code": "AAAA-AAAA", "csrf_token": token},
            environ_base={"REMOTE_ADDR": "192.0.2.7"},
        )
    mine = csrf_from(victim.get("/d").text)
    found = victim.post(
        "/d", data={"number": record["number"], "code": record["code"], "csrf_token": mine}
    )
    assert found.status_code == 303


def test_the_number_and_its_limit_share_one_normal_form() -> None:
    """Prevents the lookup and the limit disagreeing about which spellings are one number."""
    from identity.documents import documents

    typed = (
        "HW-2026-000042", "hw 2026 000042", "\uff28\uff37\t2026\u2013000042",
        "HW\u00a02026\u3000000042\u00ad", "HW-\u0662\u0660\u0662\u0666-000042",
    )  # fmt: skip
    for text in typed:
        assert documents.normalize_number(text) == "HW2026000042"
        assert documents.printed_number(documents.normalize_number(text)) == "HW-2026-000042"
    for spelling in SPELLINGS:
        assert documents.normalize_number(spelling.format("HW-2026-000042")) == "HW2026000042"
    assert documents.printed_number(documents.normalize_number("127.0.0.1")) is None


def test_a_pdf_bomb_is_422_in_the_error_shape_and_leaves_nothing(office) -> None:
    """A PDF too costly to draw is refused with 422 pdf-too-complex, not a worker held for long."""
    app, headers = office
    before = count(app, AuditEvent)
    response = upload(app, headers, pdf=hostile_pdfs.nested_forms())
    assert response.status_code == 422
    assert response.json["error"]["code"] == "pdf-too-complex"
    assert set(response.json["error"]) == {"code", "message"}
    assert count(app, Document) == 0 and count(app, DocumentFile) == 0
    assert count(app, AuditEvent) == before


def test_a_document_issued_from_a_pdf_with_scripts_is_stored_without_them(office) -> None:
    """What we store, hash and serve is the disarmed PDF: its SHA-256 is of that file."""
    app, headers = office
    record = upload(app, headers, pdf=hostile_pdfs.edited(hostile_pdfs.everything_active)).json
    client = app.test_client()
    stored = client.get(f"/api/v1/documents/{record['id']}/pdf", headers=headers).data
    assert hashlib.sha256(stored).hexdigest() == record["sha256"]
    assert b"app.alert" not in stored and b"cmd.exe" not in stored and b"payload" not in stored
