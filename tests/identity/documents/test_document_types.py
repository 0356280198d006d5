"""Document types are the agency's data: listed, added (CLI, console), offered and labelled."""

import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from identity import db
from identity.documents import document_types, documents
from identity.models import AuditEvent, Beneficiary, Document, DocumentFile, DocumentType, utcnow
from identity.register.beneficiaries import find
from tests.apps import https_client
from tests.factories import (
    FATIMA,
    add_people,
    backoffice_token,
    csrf_from,
    make_pdf,
    staff_sign_in,
    web_sign_in,
)
from tests.identity.web.test_openapi import conforms

INITIAL = {
    "eligibility_endorsement": ("إقرار استحقاق", "Eligibility endorsement"),
    "housing_file_statement": ("بيان ملف إسكاني", "Housing file statement"),
    "entitlement_certificate": ("شهادة استحقاق", "Entitlement certificate"),
    "letter": ("خطاب", "Letter"),
}


def audit_count(app: Flask) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(AuditEvent)) or 0


def post_document(app: Flask, doc_type: str, token: str):
    data = {"civil_id": FATIMA.civil_id, "type": doc_type, "title": "Residence certificate",
            "office": "Head office", "file": (io.BytesIO(make_pdf(1)), "a.pdf")}  # fmt: skip
    return app.test_client().post(
        "/api/v1/documents", data=data, headers={"Authorization": f"Bearer {token}"}
    )


# The service


def test_the_four_types_of_before_are_the_initial_set(any_app: Flask) -> None:
    with any_app.app_context():
        db.upgrade(db.get_db().engine)
        listed = document_types.list_types(db.session())
    assert {t.key: (t.label_ar, t.label_en) for t in listed} == INITIAL


def test_add_lists_the_type_and_audits_it(any_app: Flask) -> None:
    with any_app.app_context():
        db.upgrade(db.get_db().engine)
        session = db.session()
        document_types.add(session, "certificate", " شهادة  عامة ", "Certificate", "staff:a")
        session.commit()
        assert document_types.get(session, "certificate") is not None
        listed = {t.key: t for t in document_types.list_types(session)}
        assert listed["certificate"].label_ar == "شهادة عامة"  # spaces tidied
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event is not None and event.action == "document_type.add"
        assert event.subject == "document_type:certificate" and event.actor == "staff:a"


def test_a_key_taken_twice_is_a_clear_error(any_app: Flask) -> None:
    """Prevents a second type silently replacing (or crashing on) the first one's key."""
    with any_app.app_context():
        db.upgrade(db.get_db().engine)
        session = db.session()
        with pytest.raises(document_types.DocumentTypeRefused) as refused:
            document_types.add(session, "letter", "خطاب آخر", "Another letter", "cli")
        assert refused.value.code == "duplicate" and "letter" in refused.value.message
        session.rollback()
        assert session.get(DocumentType, "letter").label_en == "Letter"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "key",
    ["", "a", "Letter", "1letter", "_letter", "two words", "lettré", "a" * 41, "letter\n",
     "x1234567", "letter\x00", 42, None],
)  # fmt: skip
def test_a_bad_key_is_refused(app: Flask, key: object) -> None:
    before = audit_count(app)
    with app.app_context(), pytest.raises(document_types.DocumentTypeRefused):
        document_types.add(db.session(), key, "شهادة", "Certificate", "cli")
    assert audit_count(app) == before


@pytest.mark.parametrize(
    ("label_ar", "label_en"),
    [
        ("ش", "Certificate"),  # too short
        ("شهادة", "C" * 81),  # too long
        ("Certificate", "Certificate"),  # the Arabic label not in Arabic
        ("شهادة\u202e", "Certificate"),  # a direction override
        ("شهادة", "Certi\x07ficate"),  # a control character
        ("شهادة", "Certificate\ud800"),  # a lone surrogate
        ("شهادة", "Certificate\r\nX-Header"),
        ("شهادة 261080414865", "Certificate"),  # a civil ID pasted by mistake
        (None, "Certificate"),
    ],
)
def test_a_bad_label_is_refused(app: Flask, label_ar: object, label_en: object) -> None:
    with app.app_context():
        with pytest.raises(document_types.DocumentTypeRefused):
            document_types.add(db.session(), "certificate", label_ar, label_en, "cli")
        db.session().rollback()
        assert db.session().get(DocumentType, "certificate") is None


def test_documents_reference_an_existing_type(any_app: Flask) -> None:
    """Prevents a document whose type the register does not know (the foreign key holds)."""
    add_people(any_app, FATIMA)
    with any_app.app_context():
        session = db.session()
        person = find(session, FATIMA.civil_id)
        assert person is not None
        now = utcnow()
        session.add(
            Document(reference="r" * 22, number="HW-TEST", code_hash="0" * 64, type="nope",
                     title="T", beneficiary_id=person.id, office="O", issued_at=now,
                     issued_by="t", sha256="", status="valid", changed_by="t", changed_at=now)
        )  # fmt: skip
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()


# The command line


def test_cli_lists_and_adds_types(app: Flask) -> None:
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["document-types", "list"])
    assert listed.exit_code == 0, listed.output
    assert "letter" in listed.output and "Letter | خطاب" in listed.output
    added = runner.invoke(
        args=["document-types", "add", "certificate", "--label-ar", "شهادة", "--label-en",
              "Certificate"]
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "certificate" in runner.invoke(args=["document-types", "list"]).output


def test_cli_refuses_a_duplicate_in_one_sentence(app: Flask) -> None:
    before = audit_count(app)
    again = app.test_cli_runner().invoke(
        args=["document-types", "add", "letter", "--label-ar", "خطاب", "--label-en", "Letter"]
    )
    assert again.exit_code == 1
    assert "exists" in again.output and "Traceback" not in again.output
    assert audit_count(app) == before


# The API


def test_the_types_are_listed_publicly_as_documented(app: Flask) -> None:
    spec = dict(app.test_client().get("/api/v1/openapi.json").json)
    answer = app.test_client().get("/api/v1/document-types")
    assert answer.status_code == 200
    conforms(spec, "/api/v1/document-types", "get", answer)
    listed = {t["key"]: (t["label_ar"], t["label_en"]) for t in answer.json["document_types"]}
    assert listed == INITIAL
    # The contract names this list as the values of a document's type.
    issue = spec["paths"]["/api/v1/documents"]["post"]["requestBody"]["content"]
    described = issue["multipart/form-data"]["schema"]["properties"]["type"]["description"]
    assert "/api/v1/document-types" in described


def test_a_type_the_agency_added_is_accepted_for_a_document(any_app: Flask) -> None:
    """Prevents `type=certificate` being refused once the agency has that kind of document."""
    with any_app.app_context():
        db.upgrade(db.get_db().engine)
    add_people(any_app, FATIMA)
    token = backoffice_token(any_app)
    refused = post_document(any_app, "certificate", token)
    assert refused.status_code == 400
    assert "/api/v1/document-types" in refused.json["error"]["message"]
    added = any_app.test_cli_runner().invoke(
        args=["document-types", "add", "certificate", "--label-ar", "شهادة", "--label-en",
              "Certificate"]
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    issued = post_document(any_app, "certificate", token)
    assert issued.status_code == 201, issued.json
    assert issued.json["type"] == "certificate"
    keys = [t["key"] for t in any_app.test_client().get("/api/v1/document-types").json[
        "document_types"]]  # fmt: skip
    assert "certificate" in keys


# The pages


@pytest.fixture
def admin(app: Flask) -> FlaskClient:
    client = https_client(app)
    staff_sign_in(client, "admin")
    return client


def add_in_console(client: FlaskClient, **form: str):
    token = csrf_from(client.get("/staff/document-types").text)
    return client.post("/staff/document-types?lang=en", data={"csrf_token": token, **form})


def test_console_lists_the_types_in_both_languages(admin: FlaskClient) -> None:
    arabic = admin.get("/staff/document-types?lang=ar")
    english = admin.get("/staff/document-types?lang=en")
    assert arabic.status_code == english.status_code == 200
    for label_ar, label_en in INITIAL.values():
        assert label_ar in arabic.text and label_en in english.text
    assert "أنواع المستندات" in arabic.text and "Document types" in english.text


def test_console_adds_a_type_and_the_issue_form_offers_it(admin: FlaskClient, app: Flask) -> None:
    added = add_in_console(admin, key="certificate", label_ar="شهادة", label_en="Certificate")
    assert added.status_code == 302
    assert "certificate" in admin.get(added.location).text
    add_people(app, FATIMA)
    with app.app_context():
        person_id = db.session().scalars(select(Beneficiary.id)).one()
    page = f"/staff/beneficiaries/{person_id}"
    assert '<option value="certificate">Certificate</option>' in admin.get(page + "?lang=en").text
    assert '<option value="certificate">شهادة</option>' in admin.get(page + "?lang=ar").text


def test_console_refuses_bad_and_duplicate_types_and_keeps_the_form(
    admin: FlaskClient, app: Flask
) -> None:
    before = audit_count(app)
    bad = add_in_console(admin, key="Bad Key", label_ar="شهادة", label_en="Certificate")
    assert bad.status_code == 400 and "2 to 40 characters" in bad.text
    assert 'value="Bad Key"' in bad.text
    duplicate = add_in_console(admin, key="letter", label_ar="خطاب", label_en="Letter")
    assert duplicate.status_code == 409 and "exists already" in duplicate.text
    assert audit_count(app) == before


def test_pages_name_a_document_type_in_the_page_language(app: Flask) -> None:
    """Prevents a type the agency added showing as its bare key (or in the wrong language)."""
    add_people(app, FATIMA)
    with app.app_context():
        session = db.session()
        document_types.add(session, "certificate", "شهادة سكن", "Residence certificate", "t")
        person = find(session, FATIMA.civil_id)
        assert person is not None
        issued = documents.issue(session, make_pdf(1), person, "certificate", "Paper", "HQ", "t")
        session.commit()
        reference = issued.document.reference
    client = app.test_client()
    assert "شهادة سكن" in client.get(f"/d/{reference}?lang=ar").text
    assert "Residence certificate" in client.get(f"/d/{reference}?lang=en").text
    holder = web_sign_in(app)
    assert "شهادة سكن" in holder.get("/me/documents?lang=ar").text
    assert "Residence certificate" in holder.get("/me/documents?lang=en").text


# The migration


def test_migration_0007_keeps_existing_documents_and_their_files(any_app: Flask) -> None:
    """Prevents the SQLite table rebuild for the new foreign key cascading into stored PDFs."""
    add_people(any_app, FATIMA)
    with any_app.app_context():
        engine = db.get_db().engine
        db.upgrade(engine)
        try:
            db.downgrade(engine, "0006")
            with engine.begin() as connection:
                person = connection.scalar(select(Beneficiary.id))
                connection.execute(
                    text(
                        "INSERT INTO documents (id, reference, number, code_hash, type, title,"
                        " beneficiary_id, office, issued_at, issued_by, sha256, status,"
                        " changed_by, changed_at) VALUES (1, 'ref', 'HW-2026-000001', 'h',"
                        " 'letter', 'T', :person, 'O', :now, 't', 's', 'valid', 't', :now)"
                    ),
                    {"person": person, "now": utcnow()},
                )
                connection.execute(
                    text("INSERT INTO document_files (document_id, pdf) VALUES (1, :pdf)"),
                    {"pdf": b"%PDF-1.7"},
                )
        finally:
            db.upgrade(engine)
        session = db.session()
        assert session.get(DocumentFile, 1) is not None
        document = session.get(Document, 1)
        assert document is not None and document.type == "letter"
        assert len(document_types.list_types(session)) == len(INITIAL)


def test_each_document_type_has_one_english_name() -> None:
    """Regression: the catalogue called eligibility_endorsement "Endorsement of eligibility"
    while its row says "Eligibility endorsement"; no other English name of a type is left."""
    from pathlib import Path

    from babel.messages.pofile import read_po

    folder = Path(__file__).resolve().parents[3] / "verification/translations"
    by_arabic = {arabic: english for arabic, english in INITIAL.values()}
    for path in (folder / "ar/LC_MESSAGES/messages.po", folder / "messages.pot"):
        with path.open("rb") as handle:
            catalogue = read_po(handle)
        for message in catalogue:
            english = by_arabic.get(message.string) if message.string else None
            assert english is None or message.id == english, (path.name, message.id)
            assert message.id not in {"Endorsement of eligibility", "Certificate of entitlement"}
