"""CSV downloads: the audit log as filtered, a beneficiary's checks for staff and for themselves.

UTF-8 with a BOM, formula-safe cells, times in UTC with their offset, the page's roles.
"""

import csv
import io
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import select

from identity import db
from identity.models import Agency, Document, VerificationEvent
from identity.register.beneficiaries import find
from tests.apps import https_client
from tests.factories import (
    FATIMA,
    NASSER,
    add_people,
    issue_ids,
    make_agency,
    make_pdf,
    web_sign_in,
)
from tests.identity.web.console.test_console import browser, credential, form_post, upload


def rows_of(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith("\ufeff".encode())  # the BOM: Excel reads Arabic right
    return list(csv.reader(io.StringIO(response.data.decode("utf-8").removeprefix("\ufeff"))))


def checked(app: Flask) -> tuple[int, str, str]:
    """Give Fatima a document and three checks: her ID by an agency whose purpose is a formula,
    the document by the agency, the ID from the public page. Return her id and the document's
    number and title."""
    admin = browser(app, "admin")
    upload(admin, app, make_pdf(), title="Housing letter", office="Main office")
    make_agency(app)
    with app.app_context():
        session = db.session()
        person = find(session, FATIMA.civil_id)
        assert person is not None
        document = session.scalars(select(Document)).one()
        agency = session.scalars(select(Agency)).one()
        at = datetime(2026, 12, 1, 21, 12, tzinfo=UTC)
        for kind, ref, agency_id, purpose in (
            ("id_card", "cred", agency.id, "=cmd()"),
            ("document", document.reference, agency.id, "Rent support"),
            ("id_card", "cred", None, "public"),
        ):
            session.add(VerificationEvent(at=at, kind=kind, subject_ref=ref,
                        beneficiary_id=person.id, agency_id=agency_id, channel="api",
                        purpose=purpose, result="valid"))  # fmt: skip
        session.commit()
        return person.id, document.number, document.title


# The audit log


def test_the_audit_log_downloads_with_the_page_filters(world: Flask) -> None:
    admin = browser(world, "admin")
    cred = credential(world)
    form_post(admin, "/staff/", f"/staff/credentials/{cred.id}/suspend", reason="=cmd() lost")
    page = admin.get("/staff/audit?action=credential.suspend&lang=en").text
    link = "/staff/audit.csv?action=credential.suspend&amp;lang=en"
    assert f'href="{link}"' in page
    rows = rows_of(admin.get(link.replace("&amp;", "&")))
    assert rows[0] == ["Number", "When (UTC)", "Actor", "Action", "Action (key)", "Subject",
                       "Details"]  # fmt: skip
    assert len(rows) == 2  # only the suspension: the filter holds
    _number, when, who, action, key, subject, details = rows[1]
    assert when.endswith("Z") and datetime.fromisoformat(when).tzinfo is not None
    assert who.startswith("Staff member admin-") and action == "Digital ID suspended"
    assert key == "credential.suspend" and subject == f"Digital ID {cred.id}"
    assert details == "Status before: Active; Reason: =cmd() lost; Status after: Suspended"
    arabic = rows_of(admin.get("/staff/audit.csv?action=credential.suspend&lang=ar"))
    assert arabic[0][3] == "الإجراء" and arabic[1][3] == "تعليق الهوية الرقمية"
    everything = rows_of(admin.get("/staff/audit.csv?lang=en"))
    assert len(everything) > 2 and {"credential.issue", "credential.suspend"} <= {
        row[4] for row in everything[1:]
    }
    assert admin.get("/staff/audit.csv?from=yesterday&lang=en").status_code == 400


def test_the_audit_download_is_for_staff_only(world: Flask) -> None:
    assert rows_of(browser(world, "auditor").get("/staff/audit.csv"))[0]
    signed_out = https_client(world).get("/staff/audit.csv")
    assert signed_out.status_code == 302 and "/staff/login" in signed_out.location
    beneficiary = web_sign_in(world).get("/staff/audit.csv")
    assert beneficiary.status_code == 302 and "/staff/login" in beneficiary.location


# Verification histories


def test_staff_download_a_beneficiarys_checks_formula_safe(world: Flask) -> None:
    person_id, number, title = checked(world)
    auditor = browser(world, "auditor")
    page = auditor.get(f"/staff/beneficiaries/{person_id}?lang=en").text
    url = f"/staff/beneficiaries/{person_id}/verifications.csv"
    assert f'href="{url}"' in page
    assert f'{title} · <bdi dir="ltr">{number}</bdi>' in page and "The digital ID" in page
    rows = rows_of(auditor.get(url + "?lang=en"))
    assert rows[0] == ["When (UTC)", "What was checked", "Who", "Why", "Result"]
    assert rows[1:] == [
        ["2026-12-01T21:12:00Z", "The digital ID", "Housing Authority", "'=cmd()", "Valid"],
        ["2026-12-01T21:12:00Z", f"Document {title}, number {number}", "Housing Authority",
         "Rent support", "Valid"],
        ["2026-12-01T21:12:00Z", "The digital ID", "A public scan", "", "Valid"],
    ][::-1]  # fmt: skip
    assert rows_of(auditor.get(url + "?lang=ar"))[0][1] == "ما تم التحقق منه"
    assert auditor.get("/staff/beneficiaries/999999/verifications.csv").status_code == 404
    assert https_client(world).get(url).status_code == 302


def test_a_beneficiary_downloads_their_own_checks_only(world: Flask) -> None:
    _person_id, number, title = checked(world)
    fatima = web_sign_in(world)
    page = fatima.get("/me/verifications?lang=en").text
    assert 'href="/me/verifications.csv"' in page
    assert f'{title} · <bdi dir="ltr">{number}</bdi>' in page and "Your digital ID" in page
    rows = rows_of(fatima.get("/me/verifications.csv?lang=en"))
    assert len(rows) == 4 and rows[1][2] == "Someone who scanned your code"
    assert rows[2][1] == f"Document {title}, number {number}" and rows[3][3] == "'=cmd()"
    add_people(world, NASSER)
    issue_ids(world, NASSER)
    nasser = web_sign_in(world, NASSER)
    assert rows_of(nasser.get("/me/verifications.csv?lang=en")) == [
        ["When (UTC)", "What was checked", "Who", "Why", "Result"]
    ]
    signed_out = https_client(world).get("/me/verifications.csv")
    assert signed_out.status_code == 302 and "/login" in signed_out.location


def test_the_api_names_the_document_checked(world: Flask) -> None:
    from tests.factories import api_sign_in

    _person_id, number, title = checked(world)
    token = api_sign_in(world)
    body = (
        world.test_client()
        .get("/api/v1/me/verifications", headers={"Authorization": f"Bearer {token}"})
        .get_json()
    )
    documents = [v["document"] for v in body["verifications"]]
    assert documents == [None, {"number": number, "title": title, "type": "letter"}, None]
