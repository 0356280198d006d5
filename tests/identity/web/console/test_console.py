"""The staff console: every page in both languages, every action, bad input, roles, the audit."""

import io
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from identity import civil_id, clock, db, signing
from identity.access import agencies
from identity.audit import chain
from identity.models import Agency, AuditEvent, Credential, Document, StaffUser, VerificationEvent
from tests import hostile_pdfs
from tests.apps import https_client
from tests.factories import (
    FATIMA,
    NASSER,
    add_people,
    csrf_from,
    issue_ids,
    make_agency,
    make_pdf,
    make_staff,
    phone_url,
    staff_code,
    staff_sign_in,
)


def browser(app: Flask, role: str) -> FlaskClient:
    client = https_client(app)
    staff_sign_in(client, role)
    return client


def person_id(app: Flask, civil_id: str = FATIMA.civil_id) -> int:
    from identity.register.beneficiaries import find

    with app.app_context():
        person = find(db.session(), civil_id)
        assert person is not None
        return person.id


def credential(app: Flask) -> Credential:
    with app.app_context():
        return db.session().scalars(select(Credential)).one()


def last_event(app: Flask) -> AuditEvent:
    with app.app_context():
        return db.session().scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()  # type: ignore[return-value]


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model)) or 0


def form_post(client: FlaskClient, page_url: str, action: str, **data: object):
    """Post a form the way the browser does: with the CSRF token of the page it is on."""
    token = csrf_from(client.get(page_url).text)
    return client.post(action, data={"csrf_token": token, **data})


def verify(app: Flask, key: str) -> None:
    response = app.test_client().post(
        "/api/v1/verify",
        json={"qr": phone_url(app), "purpose": "Rent support"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200


@pytest.fixture
def admin(world: Flask) -> FlaskClient:
    return browser(world, "admin")


# Pages in both languages


PAGES = [
    ("/staff/", "Dashboard", "لوحة المتابعة"),
    ("/staff/search", "Beneficiaries", "المستفيدون"),
    ("/staff/agencies", "Agencies", "الجهات"),
    ("/staff/keys", "Signing keys", "مفاتيح التوقيع"),
    ("/staff/audit", "Audit log", "سجل التدقيق"),
    ("/staff/staff", "Staff", "الموظفون"),
]


@pytest.mark.parametrize(("path", "english", "arabic"), PAGES)
def test_each_page_in_arabic_by_default_and_in_english(
    admin: FlaskClient, path: str, english: str, arabic: str
) -> None:
    page = admin.get(path)
    assert page.status_code == 200
    assert '<html lang="ar" dir="rtl">' in page.text and f"<h1>{arabic}</h1>" in page.text
    page = admin.get(path + "?lang=en")
    assert '<html lang="en" dir="ltr">' in page.text and f"<h1>{english}</h1>" in page.text
    assert page.headers["Cache-Control"] == "no-store"


def test_the_beneficiary_page_in_both_languages(admin: FlaskClient, world: Flask) -> None:
    url = f"/staff/beneficiaries/{person_id(world)}"
    arabic = admin.get(url)
    assert arabic.status_code == 200
    assert f"<h1>{FATIMA.full_name_ar}</h1>" in arabic.text and "الهوية الرقمية" in arabic.text
    english = admin.get(url + "?lang=en")
    assert f"<h1>{FATIMA.full_name_en}</h1>" in english.text and "Digital ID" in english.text
    assert FATIMA.civil_id in english.text and FATIMA.phone in english.text
    assert 'data-credential-status="active"' in english.text
    assert admin.get("/staff/beneficiaries/999999").status_code == 404


# Signed out and roles


@pytest.mark.parametrize("path", [p for p, _e, _a in PAGES])
def test_signed_out_pages_send_to_the_login(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302 and "/staff/login?next=" in response.location


def sign_in_with_next(app: Flask, next_value: str):
    """Sign a new auditor in through the login form, with `next` as the form sends it."""
    username, password, secret = make_staff(app, "auditor")
    client = https_client(app)
    response = form_post(client, "/staff/login", "/staff/login", username=username,
                         password=password, code=staff_code(secret), next=next_value)  # fmt: skip
    return client, response


@pytest.mark.parametrize(
    "hostile",
    [
        "/staff/\r\nSet-Cookie: planted=1",
        "/staff/search\nX-Injected: 1",
        "/staff/\x07",  # (a NUL is refused at the edge: tests/identity/web/test_inputs.py)
        "/staff/\x1b[31m",
        "//evil.example/staff/",
        "/staff//evil.example",
        "/\\evil.example",
        "/staff/\\evil.example",
        "https://evil.example/staff/",
        "javascript:alert(1)",
        "/staff/ a",
        "/staff/\u202e",
        "staff/",
        "",
    ],
)
def test_a_hostile_next_after_sign_in_goes_to_the_dashboard(world: Flask, hostile: str) -> None:
    """CR/LF in `next` made the redirect a 500 after the session was made, with no cookie set."""
    client, response = sign_in_with_next(world, hostile)
    assert response.status_code == 302
    assert response.location == "/staff/"
    assert "planted" not in response.headers.get("Set-Cookie", "")
    assert client.get_cookie("__Host-hawiya-staff") is not None


def test_a_local_console_next_is_followed_after_sign_in(world: Flask) -> None:
    _client, response = sign_in_with_next(world, "/staff/search?q=1234&lang=en")
    assert response.status_code == 302 and response.location == "/staff/search?q=1234&lang=en"


def test_signed_out_actions_are_refused(world: Flask) -> None:
    client = https_client(world)
    cred = credential(world)
    response = form_post(
        client, "/staff/login", f"/staff/credentials/{cred.id}/revoke", reason="Fraud"
    )
    assert response.status_code == 401
    assert credential(world).status == "active"


@pytest.mark.parametrize(
    ("role", "method", "path", "allowed"),
    [
        ("auditor", "get", "/staff/", True),
        ("auditor", "get", "/staff/audit", True),
        ("auditor", "post", "/staff/credentials/{cred}/revoke", False),
        ("auditor", "post", "/staff/beneficiaries/{person}/documents", False),
        ("auditor", "get", "/staff/staff", False),
        ("issuer", "post", "/staff/agencies", False),
        ("issuer", "post", "/staff/keys/rotate", False),
        ("issuer", "get", "/staff/keys/{kid}/retire", False),
        ("issuer", "post", "/staff/staff", False),
        ("issuer", "get", "/staff/staff", False),
        ("issuer", "post", "/staff/credentials/{cred}/suspend", True),
        ("admin", "get", "/staff/staff", True),
    ],
)
def test_roles(world: Flask, role: str, method: str, path: str, allowed: bool) -> None:
    client = browser(world, role)
    with world.app_context():
        kid = signing.active_kid()
    url = path.format(cred=credential(world).id, person=person_id(world), kid=kid)
    before = count(world, AuditEvent)
    if method == "get":
        response = client.get(url)
    else:
        response = form_post(client, "/staff/", url, reason="Checking roles", name="X")
    if allowed:
        assert response.status_code in (200, 302)
    else:
        assert response.status_code == 403
        assert "لا يحق لك الاطلاع على هذه الصفحة" in response.text
        assert count(world, AuditEvent) == before


def test_an_auditor_sees_no_action_buttons(world: Flask) -> None:
    page = browser(world, "auditor").get(f"/staff/beneficiaries/{person_id(world)}?lang=en")
    assert page.status_code == 200
    for button in ("Revoke", "Suspend", "Stamp and issue"):
        assert f">{button}</button>" not in page.text


# Search


@pytest.mark.parametrize(
    ("query", "found"),
    [
        (FATIMA.civil_id, [FATIMA]),
        ("٢٨٨٠٢٠١٢٢٥٩٦", [FATIMA]),  # Arabic-Indic digits
        (f" {FATIMA.civil_id} ", [FATIMA]),
        (NASSER.file_number, [NASSER]),
        ("kandari", [FATIMA]),
        ("الهاجري", [NASSER]),
        ("Al-", [FATIMA, NASSER]),
        ("%", []),
        ("_", []),
        ("nobody", []),
    ],
)
def test_search(admin: FlaskClient, world: Flask, query: str, found: list) -> None:
    add_people(world, NASSER)
    page = admin.get("/staff/search", query_string={"q": query, "lang": "en"})
    assert page.status_code == 200
    for person in (FATIMA, NASSER):
        assert (person.full_name_en in page.text) == (person in found)
    if not found:
        assert "Nobody matches this search." in page.text


# Digital IDs


def test_revoke_with_a_reason_is_audited_and_in_force(admin: FlaskClient, world: Flask) -> None:
    key = make_agency(world)
    cred = credential(world)
    page = f"/staff/beneficiaries/{person_id(world)}"
    response = form_post(
        admin, page, f"/staff/credentials/{cred.id}/revoke", reason="Fraud case", confirm="yes"
    )
    assert response.status_code == 302 and "done=revoke" in response.location
    assert "تم إلغاء الهوية الرقمية." in admin.get(response.location).text
    assert credential(world).status == "revoked" and credential(world).reason == "Fraud case"
    event = last_event(world)
    assert event.action == "credential.revoke" and event.actor.startswith("staff:admin-")
    verdict = world.test_client().post(
        "/api/v1/verify",
        json={"qr": phone_url(world), "purpose": "Rent"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert verdict.get_json()["result"] == "revoked"


def test_suspend_then_reinstate(admin: FlaskClient, world: Flask) -> None:
    cred = credential(world)
    page = f"/staff/beneficiaries/{person_id(world)}"
    assert (
        form_post(admin, page, f"/staff/credentials/{cred.id}/suspend", reason="Check").status_code
        == 302
    )
    assert credential(world).status == "suspended"
    assert ">Reinstate</button>" in admin.get(page + "?lang=en").text
    assert (
        form_post(
            admin, page, f"/staff/credentials/{cred.id}/reinstate", reason="Cleared"
        ).status_code
        == 302
    )
    assert credential(world).status == "active"


REASON_EN = "Give a reason of 3 to 200 characters, on one line, without control characters."


@pytest.mark.parametrize(("reason", "lang", "message"), [
    ("", "ar", "اكتب سببًا من 3 إلى 200 حرف في سطر واحد، دون رموز تحكم."),
    ("  x ", "en", REASON_EN),
    ("y" * 201, "en", REASON_EN),
    ("Fraud \u202edetcevor", "en", REASON_EN),
])  # fmt: skip
def test_a_reason_is_mandatory(
    admin: FlaskClient, world: Flask, reason: str, lang: str, message: str
) -> None:
    cred = credential(world)
    before = count(world, AuditEvent)
    response = form_post(
        admin, "/staff/", f"/staff/credentials/{cred.id}/revoke?lang={lang}", reason=reason,
        confirm="yes",
    )  # fmt: skip
    assert response.status_code == 400 and message in response.text
    assert credential(world).status == "active" and count(world, AuditEvent) == before


def test_an_impossible_change_is_409_and_changes_nothing(admin: FlaskClient, world: Flask) -> None:
    cred = credential(world)
    response = form_post(
        admin, "/staff/", f"/staff/credentials/{cred.id}/reinstate?lang=en", reason="Why not"
    )
    assert response.status_code == 409 and "not possible in the current status" in response.text
    assert credential(world).status == "active"
    assert (
        form_post(admin, "/staff/", "/staff/credentials/nope/revoke", reason="x" * 5).status_code
        == 404
    )


@pytest.mark.parametrize("action", ["revoke", "document", "agency", "staff"])
def test_a_failed_audit_write_rolls_the_change_back(
    admin: FlaskClient, world: Flask, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    """Regression: a change must never be committed without its audit entry."""
    cred = credential(world)
    page = f"/staff/beneficiaries/{person_id(world)}"
    token = csrf_from(admin.get(page).text)
    before = {model: count(world, model) for model in (Document, Agency, StaffUser, AuditEvent)}

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr(chain, "record", broken)
    if action == "revoke":
        response = admin.post(
            f"/staff/credentials/{cred.id}/revoke",
            data={"csrf_token": token, "reason": "Fraud", "confirm": "yes"},
        )
    elif action == "document":
        form = {"csrf_token": token, "type": "letter", "title": "A letter", "office": "Office",
                "file": (io.BytesIO(make_pdf()), "letter.pdf")}  # fmt: skip
        response = admin.post(f"{page}/documents", data=form, content_type="multipart/form-data")
    elif action == "agency":
        response = admin.post(
            "/staff/agencies", data={"csrf_token": token, "name": "Ministry", "purpose": "Checks"}
        )
    else:
        response = admin.post(
            "/staff/staff", data={"csrf_token": token, "username": "omar", "role": "issuer"}
        )
    assert response.status_code == 500
    assert "Traceback" not in response.text and "audit table" not in response.text
    monkeypatch.undo()
    assert credential(world).status == "active"
    assert {model: count(world, model) for model in before} == before


def test_a_form_without_its_csrf_token_changes_nothing(admin: FlaskClient, world: Flask) -> None:
    cred = credential(world)
    response = admin.post(f"/staff/credentials/{cred.id}/revoke", data={"reason": "Fraud"})
    assert response.status_code == 400
    assert credential(world).status == "active"


# Documents


def upload(client: FlaskClient, app: Flask, data: bytes, lang: str = "en", **fields: str):
    url = f"/staff/beneficiaries/{person_id(app)}"
    token = csrf_from(client.get(url).text)
    form = {"csrf_token": token, "type": "letter", "title": "Housing letter",
            "office": "Head office", **fields,
            "file": (io.BytesIO(data), "letter.pdf")}  # fmt: skip
    return client.post(
        f"{url}/documents?lang={lang}", data=form, content_type="multipart/form-data"
    )


def test_issue_a_document_from_an_uploaded_pdf(admin: FlaskClient, world: Flask) -> None:
    response = upload(admin, world, make_pdf())
    assert response.status_code == 200 and "Document issued" in response.text
    with world.app_context():
        document = db.session().scalars(select(Document)).one()
        number = document.number
        assert document.issued_by.startswith("staff:admin-") and document.type == "letter"
    assert f"data-number>{number}<" in response.text and "data-code>" in response.text
    assert last_event(world).action == "document.issue"
    pdf = admin.get(f"/staff/documents/{document.id}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert number in admin.get(f"/staff/beneficiaries/{person_id(world)}").text


@pytest.mark.parametrize(
    ("data", "fields", "status", "message"),
    [
        (b"hello, not a pdf", {}, 415, "This file is not a PDF."),
        (b"%PDF-1.4\nbroken", {}, 400, "damaged or incomplete"),
        (make_pdf(), {"type": "passport"}, 400, "Choose a type, and give a title"),
        (make_pdf(), {"title": "x"}, 400, "Choose a type, and give a title"),
        (make_pdf(), {"office": ""}, 400, "Choose a type, and give a title"),
    ],
)
def test_a_bad_upload_shows_the_form_again_and_leaves_nothing(
    admin: FlaskClient, world: Flask, data: bytes, fields: dict, status: int, message: str
) -> None:
    before = count(world, AuditEvent)
    response = upload(admin, world, data, **fields)
    assert response.status_code == status and message in response.text
    assert 'name="file"' in response.text  # the form again
    assert count(world, Document) == 0 and count(world, AuditEvent) == before


def test_a_bad_upload_is_explained_in_arabic(admin: FlaskClient, world: Flask) -> None:
    response = upload(admin, world, b"not a pdf", lang="ar")
    assert response.status_code == 415 and "هذا الملف ليس PDF" in response.text


def test_a_missing_file_is_explained(admin: FlaskClient, world: Flask) -> None:
    url = f"/staff/beneficiaries/{person_id(world)}"
    token = csrf_from(admin.get(url).text)
    response = admin.post(
        f"{url}/documents?lang=en",
        data={"csrf_token": token, "type": "letter", "title": "A letter", "office": "Office"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "Choose the PDF to upload." in response.text


def test_revoke_a_document_with_a_reason(admin: FlaskClient, world: Flask) -> None:
    upload(admin, world, make_pdf())
    with world.app_context():
        document_id = db.session().scalars(select(Document.id)).one()
    page = f"/staff/beneficiaries/{person_id(world)}"
    refused = form_post(
        admin, page, f"/staff/documents/{document_id}/revoke?lang=en", reason="", confirm="yes"
    )
    assert refused.status_code == 400 and "Give a reason" in refused.text
    done = form_post(
        admin, page, f"/staff/documents/{document_id}/revoke", reason="Wrong name", confirm="yes"
    )
    assert done.status_code == 302
    with world.app_context():
        document = db.session().get(Document, document_id)
        assert document is not None and document.status == "revoked"
    assert last_event(world).action == "document.revoke"
    again = form_post(
        admin, page, f"/staff/documents/{document_id}/revoke", reason="Again", confirm="yes"
    )
    assert again.status_code == 409


# Agencies


def test_create_an_agency_shows_its_key_once(admin: FlaskClient, world: Flask) -> None:
    response = form_post(
        admin, "/staff/agencies", "/staff/agencies?lang=en",
        name="Ministry of Social Affairs", purpose="Benefit checks", scope=["name", "status"],
        rate_limit="120",
    )  # fmt: skip
    assert response.status_code == 200 and "shown only this once" in response.text
    key = response.text.split("data-secret>")[1].split("<")[0]
    with world.app_context():
        agency = agencies.authenticate(db.session(), key)
        assert agency is not None and agency.scope == "name,status" and agency.rate_limit == 120
    listing = admin.get("/staff/agencies").text
    assert "Ministry of Social Affairs" in listing and key not in listing
    # Regression: the English page joined the scope with an Arabic comma ("Name، Status").
    english = admin.get("/staff/agencies?lang=en").text
    assert "<td>Name, Status</td>" in english and "،" not in english
    assert "<td>الاسم، الحالة</td>" in admin.get("/staff/agencies?lang=ar").text
    assert last_event(world).action == "agency.create"


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "", "purpose": "Checks"},
        {"name": "A ministry", "purpose": "x"},
        {"name": "A ministry", "purpose": "Checks", "rate_limit": "0"},
        {"name": "A ministry", "purpose": "Checks", "rate_limit": "ten"},
        {"name": "A ministry", "purpose": "Checks", "scope": ["password"]},
        {"name": "Housing Authority", "purpose": "Checks"},  # taken
    ],
)
def test_bad_agency_input_is_refused_and_kept(
    admin: FlaskClient, world: Flask, fields: dict
) -> None:
    make_agency(world)
    before = count(world, AuditEvent)
    response = form_post(admin, "/staff/agencies", "/staff/agencies?lang=en", **fields)
    assert response.status_code == 400 and "Give a name (2 to 120 characters)" in response.text
    assert count(world, Agency) == 1 and count(world, AuditEvent) == before


def test_rotate_and_disable_an_agency(admin: FlaskClient, world: Flask) -> None:
    old = make_agency(world)
    with world.app_context():
        agency_id = db.session().scalars(select(Agency.id)).one()
    rotated = form_post(admin, "/staff/agencies", f"/staff/agencies/{agency_id}/rotate")
    new = rotated.text.split("data-secret>")[1].split("<")[0]
    with world.app_context():
        assert agencies.authenticate(db.session(), old) is None
        assert agencies.authenticate(db.session(), new) is not None
    verify(world, new)
    disabled = form_post(admin, "/staff/agencies", f"/staff/agencies/{agency_id}/disable")
    assert disabled.status_code == 302
    with world.app_context():
        assert agencies.authenticate(db.session(), new) is None
    assert last_event(world).action == "agency.disable"
    form_post(admin, "/staff/agencies", f"/staff/agencies/{agency_id}/enable")
    with world.app_context():
        assert agencies.authenticate(db.session(), new) is not None


# Signing keys


def test_rotate_and_retire_signing_keys(admin: FlaskClient, world: Flask) -> None:
    with world.app_context():
        first = signing.active_kid()
    rotated = form_post(admin, "/staff/keys", "/staff/keys/rotate")
    assert rotated.status_code == 302
    with world.app_context():
        second = signing.active_kid()
    assert second != first and last_event(world).action == "key.rotate"
    assert "The older keys keep verifying" in admin.get(rotated.location + "&lang=en").text
    confirm = admin.get(f"/staff/keys/{first}/retire?lang=en")
    assert confirm.status_code == 200 and "every token it signed stops verifying" in confirm.text
    unconfirmed = admin.post(
        f"/staff/keys/{first}/retire?lang=en", data={"csrf_token": csrf_from(confirm.text)}
    )
    assert unconfirmed.status_code == 400 and "Tick the box to confirm." in unconfirmed.text
    active = admin.post(
        f"/staff/keys/{second}/retire?lang=en",
        data={"csrf_token": csrf_from(confirm.text), "confirm": "yes"},
    )
    assert active.status_code == 409 and "cannot be retired" in active.text
    done = admin.post(
        f"/staff/keys/{first}/retire",
        data={"csrf_token": csrf_from(confirm.text), "confirm": "yes"},
    )
    assert done.status_code == 302
    with world.app_context():
        states = {info.kid: info.state for info in signing.list_keys()}
    assert states == {first: "retired", second: "active"}
    assert last_event(world).action == "key.retire"
    assert admin.get("/staff/keys/not-a-kid/retire").status_code == 404


# The audit log


def test_audit_log_filters_and_pages(admin: FlaskClient, world: Flask) -> None:
    with world.app_context():
        session = db.session()
        for i in range(60):
            chain.record(session, "tester", "token.create", f"thing:{i}")
        session.commit()
    page = admin.get("/staff/audit?action=token.create&lang=en")
    assert page.status_code == 200 and page.text.count("data-event=") == 50
    assert "thing:59" in page.text and "thing:9<" not in page.text
    older = page.text.split('<a href="?')[1].split('"')[0].replace("&amp;", "&")
    second = admin.get("/staff/audit?" + older)
    assert second.text.count("data-event=") == 10 and "thing:0<" in second.text
    assert admin.get("/staff/audit?subject=thing:42").text.count("data-event=") == 1
    assert admin.get("/staff/audit?actor=tester").text.count("data-event=") == 50
    today = clock.today()  # the filter's days are the agency's
    assert (
        admin.get(f"/staff/audit?action=token.create&from={today}&to={today}").text.count(
            "data-event="
        )
        == 50
    )
    tomorrow = today + timedelta(days=1)
    assert "data-event=" not in admin.get(f"/staff/audit?from={tomorrow}").text


@pytest.mark.parametrize(
    "query", ["from=2026-13-01", "to=yesterday", "from=2026-02-02&to=2026-02-01"]
)
def test_audit_log_bad_dates_are_explained(admin: FlaskClient, query: str) -> None:
    page = admin.get(f"/staff/audit?{query}&lang=en")
    assert page.status_code == 400 and "Dates are written YYYY-MM-DD" in page.text


# Dashboard


def test_dashboard_figures(world: Flask) -> None:
    add_people(world, NASSER)
    key = make_agency(world)
    verify(world, key)
    verify(world, key)
    username, _password, secret = make_staff(world, "auditor")
    failed = https_client(world)
    form_post(failed, "/staff/login", "/staff/login", username=username, password="no",
              code=staff_code(secret))  # fmt: skip
    with world.app_context():
        session = db.session()
        old = session.scalars(select(VerificationEvent)).first()
        assert old is not None
        session.add(VerificationEvent(at=datetime.now(UTC) - timedelta(days=20), kind="id_card",
                                      channel="api", purpose="old", result="valid"))  # fmt: skip
        session.commit()
    page = browser(world, "auditor").get("/staff/?lang=en").text
    assert 'data-figure="beneficiaries">2<' in page
    assert 'data-figure="active-ids">1<' in page
    assert 'data-figure="failed-sign-ins">1<' in page
    today = clock.today().isoformat()  # the agency's day
    assert f'data-day="{today}">2<' in page
    assert page.count("<meter") == 14


# Staff management


def test_admin_creates_and_disables_staff(admin: FlaskClient, world: Flask) -> None:
    created = form_post(
        admin, "/staff/staff", "/staff/staff?lang=en", username="Omar", role="issuer"
    )
    assert created.status_code == 200 and "shown only this once" in created.text
    password = created.text.split("data-secret>")[1].split("<")[0]
    uri = created.text.split("data-totp>")[1].split("<")[0].replace("&amp;", "&")
    omar = https_client(world)
    token = csrf_from(omar.get("/staff/login").text)
    code = pyotp.TOTP(pyotp.parse_uri(uri).secret).now()
    signed = omar.post(
        "/staff/login",
        data={"username": "omar", "password": password, "code": code, "csrf_token": token},
    )
    assert signed.status_code == 302
    assert omar.get("/staff/").location == "/staff/password"  # first, a password of his own
    with world.app_context():
        omar_id = (
            db.session().scalars(select(StaffUser.id).where(StaffUser.username == "omar")).one()
        )
    disabled = form_post(admin, "/staff/staff", f"/staff/staff/{omar_id}/disable")
    assert disabled.status_code == 302
    assert "/staff/login" in omar.get("/staff/").location  # out at the next request
    assert last_event(world).action == "staff.disable"


def test_bad_staff_input_and_self_disable_are_refused(admin: FlaskClient, world: Flask) -> None:
    before = count(world, StaffUser)
    bad = form_post(admin, "/staff/staff", "/staff/staff?lang=en", username="x", role="issuer")
    assert bad.status_code == 400 and "A username is 3 to 32 characters" in bad.text
    role = form_post(admin, "/staff/staff", "/staff/staff?lang=en", username="omar", role="root")
    assert role.status_code == 400 and count(world, StaffUser) == before
    with world.app_context():
        me = db.session().scalars(select(StaffUser.id)).one()
    self_disable = form_post(admin, "/staff/staff", f"/staff/staff/{me}/disable?lang=en")
    assert self_disable.status_code == 400 and "You cannot disable yourself." in self_disable.text
    assert admin.get("/staff/").status_code == 200


def test_the_console_on_each_backend(any_app: Flask) -> None:
    """Search, revoke, the dashboard and the audit log's dates on SQLite and on PostgreSQL."""

    add_people(any_app, FATIMA, NASSER)
    issue_ids(any_app, FATIMA)
    verify(any_app, make_agency(any_app))
    client = browser(any_app, "issuer")
    for query, name in (("٢٨٨٠٢٠١٢٢٥٩٦", FATIMA), ("HAJRI", NASSER), ("الكندري", FATIMA)):
        page = client.get("/staff/search", query_string={"q": query, "lang": "en"}).text
        assert name.full_name_en in page and page.count("<tr>") == 2  # the header and one row
    cred = credential(any_app)
    response = form_post(
        client, "/staff/", f"/staff/credentials/{cred.id}/revoke", reason="Reported stolen",
        confirm="yes",
    )  # fmt: skip
    assert response.status_code == 302 and credential(any_app).status == "revoked"
    dashboard = client.get("/staff/?lang=en").text
    assert 'data-figure="beneficiaries">2<' in dashboard
    assert 'data-figure="active-ids">0<' in dashboard
    today = clock.today()  # the agency's day, as the dashboard and the filter count
    assert f'data-day="{today.isoformat()}">1<' in dashboard
    log = client.get(f"/staff/audit?action=credential.revoke&from={today}&to={today}").text
    assert log.count("data-event=") == 1 and f"credential:{cred.id}" in log
    yesterday = today - timedelta(days=1)
    assert "data-event=" not in client.get(f"/staff/audit?to={yesterday}").text


def test_an_upload_over_the_limit_is_413_and_leaves_nothing(
    admin: FlaskClient, world: Flask
) -> None:
    response = upload(admin, world, make_pdf() + b"%" * (10 * 1024 * 1024))
    assert response.status_code == 413 and "Traceback" not in response.text
    assert count(world, Document) == 0


@pytest.mark.parametrize(
    ("lang", "message"),
    [("en", "This PDF is too complex to check."), ("ar", "ملف PDF هذا معقّد أكثر من أن يُفحص")],
)
def test_a_pdf_bomb_is_explained_in_both_languages_and_leaves_nothing(
    admin: FlaskClient, world: Flask, lang: str, message: str
) -> None:
    """A PDF too costly to draw gets 422 and the form again, explained in the page's language."""
    before = count(world, AuditEvent)
    response = upload(admin, world, hostile_pdfs.many_operators(), lang=lang)
    assert response.status_code == 422 and message in response.text
    assert 'name="file"' in response.text
    assert count(world, Document) == 0 and count(world, AuditEvent) == before


# Revoking asks first: it is for good


def test_revoking_a_digital_id_asks_first_and_says_it_is_for_good(
    admin: FlaskClient, world: Flask
) -> None:
    cred = credential(world)
    page = admin.get(f"/staff/beneficiaries/{person_id(world)}?lang=en").text
    # Revoke is apart from suspend: a link to a page of its own, not a button of the same form.
    suspend_form = page.split('<form method="post" class="form"')[1].split("</form>")[0]
    assert ">Suspend</button>" in suspend_form and "revoke" not in suspend_form.lower()
    confirm_url = f"/staff/credentials/{cred.id}/revoke"
    assert f'href="{confirm_url}"' in page.split("data-danger-zone")[1]
    for lang, name, permanent in (
        ("en", FATIMA.full_name_en, "Revoking is permanent and cannot be undone"),
        ("ar", FATIMA.full_name_ar, "الإلغاء نهائي ولا يمكن التراجع عنه"),
    ):
        confirm = admin.get(f"{confirm_url}?lang={lang}")
        assert confirm.status_code == 200 and name in confirm.text and permanent in confirm.text
        assert "********2596" in confirm.text and FATIMA.civil_id not in confirm.text
    before = count(world, AuditEvent)
    unconfirmed = form_post(admin, confirm_url, f"{confirm_url}?lang=en", reason="Fraud case")
    assert unconfirmed.status_code == 400 and "Tick the box to confirm" in unconfirmed.text
    assert 'value="Fraud case"' in unconfirmed.text  # the reason is kept for the second try
    assert credential(world).status == "active" and count(world, AuditEvent) == before
    done = form_post(admin, confirm_url, confirm_url, reason="Fraud case", confirm="yes")
    assert done.status_code == 302 and credential(world).status == "revoked"
    assert admin.get(confirm_url).status_code == 200  # still answers; the POST says 409
    assert admin.get("/staff/credentials/nope/revoke").status_code == 404


def test_revoking_a_document_asks_first_and_says_it_is_for_good(
    admin: FlaskClient, world: Flask
) -> None:
    upload(admin, world, make_pdf(), title="Housing letter", office="Main office")
    with world.app_context():
        document = db.session().scalars(select(Document)).one()
        document_id, number = document.id, document.number
    page = admin.get(f"/staff/beneficiaries/{person_id(world)}?lang=en").text
    confirm_url = f"/staff/documents/{document_id}/revoke"
    assert f'href="{confirm_url}"' in page and ">Revoke</button>" not in page
    for lang, permanent in (("en", "cannot be undone"), ("ar", "لا يمكن التراجع عنه")):
        confirm = admin.get(f"{confirm_url}?lang={lang}").text
        assert number in confirm and "Housing letter" in confirm and permanent in confirm
        assert (FATIMA.full_name_en if lang == "en" else FATIMA.full_name_ar) in confirm
    before = count(world, AuditEvent)
    unconfirmed = form_post(admin, confirm_url, confirm_url, reason="Wrong name")
    assert unconfirmed.status_code == 400 and count(world, AuditEvent) == before
    with world.app_context():
        assert db.session().get(Document, document_id).status == "valid"  # type: ignore[union-attr]
    assert admin.get("/staff/documents/999999/revoke").status_code == 404


# Search by part of a civil ID


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("2880", [FATIMA]),  # a prefix of four
        ("28802012", [FATIMA]),  # a longer prefix
        ("٢٤٦٠٧", [NASSER]),  # a prefix in Arabic-Indic digits
        ("2596", [FATIMA]),  # the last four
        ("7798", [NASSER]),
        ("2460 7018", [NASSER]),  # spaced as people copy it
        ("0201", []),  # four digits from the middle match nothing
        ("1234", []),
    ],
)
def test_search_by_part_of_a_civil_id(
    admin: FlaskClient, world: Flask, query: str, found: list
) -> None:
    add_people(world, NASSER)
    page = admin.get("/staff/search", query_string={"q": query, "lang": "en"}).text
    for person in (FATIMA, NASSER):
        assert (person.full_name_en in page) == (person in found)
        assert person.civil_id not in page  # the results show the civil ID masked
    if found:
        assert f'<bdi dir="ltr" data-civil-id>********{found[0].civil_id[-4:]}</bdi>' in page
    else:
        assert "Nobody matches this search." in page


def test_too_few_digits_say_how_many(admin: FlaskClient, world: Flask) -> None:
    page = admin.get("/staff/search", query_string={"q": "288", "lang": "en"}).text
    assert "type at least 4 of its digits" in page and FATIMA.full_name_en not in page
    arabic = admin.get("/staff/search", query_string={"q": "288", "lang": "ar"}).text
    assert "اكتب 4 من أرقامه على الأقل" in arabic


def test_more_matches_than_shown_say_refine(admin: FlaskClient, world: Flask) -> None:
    from identity.register.beneficiaries import Record

    records = []
    for n in range(80):
        first11 = f"2880201{n:04d}"
        check = civil_id.check_digit(first11)
        if check is not None and check <= 9:
            records.append(Record(first11 + str(check), f"7{n:05d}", "مستفيد تجريبي",
                                  f"Test Person {n:02d}", "+96551234567", "active"))  # fmt: skip
    add_people(world, *records)
    assert len(records) > 51
    page = admin.get("/staff/search", query_string={"q": "28802", "lang": "en"}).text
    assert page.count("data-civil-id") == 50 and "More than 50 match" in page
    few = admin.get("/staff/search", query_string={"q": FATIMA.civil_id, "lang": "en"}).text
    assert "More than" not in few and few.count("data-civil-id") == 1
