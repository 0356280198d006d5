"""Small helpers the tests share: people in the register, codes from the SMS sink, a clock."""

import re
from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from identity import db
from identity.access import agencies
from identity.digital_id import credentials
from identity.models import Credential
from identity.register.beneficiaries import Record, find, upsert_many
from identity.signin import otp
from identity.sms import RecordingSmsSender
from identity.store import MemoryStore

FATIMA = Record(
    "288020122596", "004512", "فاطمة محمد الكندري", "Fatima Mohammed Al-Kandari",
    "+96551234567", "active",
)  # fmt: skip
NASSER = Record(
    "246070187798", "098703", "ناصر علي الهاجري", "Nasser Ali Al-Hajri", "+96590810111", "active"
)
UNKNOWN_CIVIL_ID = "261080414865"  # valid check digit, not in the register


def add_people(app: Flask, *people: Record) -> None:
    """Put people into the app's register."""
    with app.app_context():
        upsert_many(db.session(), list(people), with_category=False)
        db.session().commit()


def issue_ids(app: Flask, *people: Record) -> list[str]:
    """Issue a digital ID to each of these people (already in the register); return the ids."""
    with app.app_context():
        session = db.session()
        issued = []
        for person in people:
            found = find(session, person.civil_id)
            assert found is not None, f"{person.civil_id} is not in the register"
            issued.append(credentials.issue(session, found, "test").id)
        session.commit()
        return issued


def sms_sink(app: Flask) -> RecordingSmsSender:
    """Return the recording SMS sender of a testing app."""
    sender = app.extensions["hawiya.sms"]
    assert isinstance(sender, RecordingSmsSender)
    return sender


def sent_codes(app: Flask, phone: str) -> list[str]:
    """Wait for the SMS queue, then return every code sent to this number, oldest first."""
    otp.queue(app).drain()
    texts = [text for to, text in sms_sink(app).messages if to == phone]
    return [re.search(r"\b(\d{6})\b", text).group(1) for text in texts]  # type: ignore[union-attr]


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def use_fake_clock(app: Flask) -> FakeClock:
    """Give the app an in-process store on a fake clock, so tests can let time pass."""
    clock = FakeClock()
    app.extensions["hawiya.store"] = MemoryStore(clock=clock)
    return clock


def api_start(client: FlaskClient, civil_id: str, file_number: str, **headers: str):
    return client.post(
        "/api/v1/auth/start", json={"civil_id": civil_id, "file_number": file_number},
        headers=headers,
    )  # fmt: skip


def api_verify(client: FlaskClient, txn: str, code: str, **headers: str):
    return client.post("/api/v1/auth/verify", json={"txn": txn, "code": code}, headers=headers)


def api_sign_in(app: Flask, person: Record = FATIMA) -> str:
    """Sign in through the API and return the access token."""
    client = app.test_client()
    txn = api_start(client, person.civil_id, person.file_number).json["txn"]
    code = sent_codes(app, person.phone)[-1]
    response = api_verify(client, txn, code)
    assert response.status_code == 200, response.json
    return str(response.json["access_token"])


def csrf_from(page: str) -> str:
    """Return the CSRF token of the first form on a page."""
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def txn_from(page: str) -> str:
    """Return the transaction id on the code page."""
    return re.search(r'name="txn" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def make_agency(app: Flask, name: str = "Housing Authority", scope: str = "name,status",
                rate_limit: int = 600) -> str:  # fmt: skip
    with app.app_context():
        new = agencies.create(db.session(), name, "Eligibility check", scope, "test", rate_limit)
        db.session().commit()
        return new.key


def phone_url(app: Flask) -> str:
    with app.app_context():
        session = db.session()
        credential = session.scalars(select(Credential)).one()
        return credentials.phone_token(credential).url


def clock_at(at: float) -> Callable[[], datetime]:
    """Return a stand-in for identity.clock.now that reads `at` (a POSIX time) for the time."""
    return lambda: datetime.fromtimestamp(at, UTC)


def make_pdf(pages: int = 3, text: str = "Housing file statement") -> bytes:
    """Return a small valid PDF with `pages` A4 pages, a line of text in the middle of each."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode())
    font = 3 + 2 * pages
    for i in range(pages):
        stream = f"BT /F1 18 Tf 150 420 Td ({text} - page {i + 1}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def backoffice_token(app: Flask) -> str:
    """Create a back-office token in the app and return it."""
    from identity.access import api_tokens

    with app.app_context():
        new = api_tokens.create(db.session(), "backoffice", "test")
        db.session().commit()
        return new.token


def web_sign_in(app: Flask, person: Record = FATIMA) -> FlaskClient:
    """Return a browser (over https) signed in through the pages as `person`."""
    from tests.apps import https_client

    client = https_client(app)
    token = csrf_from(client.get("/login").text)
    page = client.post(
        "/login",
        data={"civil_id": person.civil_id, "file_number": person.file_number, "csrf_token": token},
    )
    code = sent_codes(app, person.phone)[-1]
    client.post(
        "/login/code",
        data={"txn": txn_from(page.text), "code": code, "csrf_token": csrf_from(page.text)},
    )
    return client


STAFF_PASSWORD = "a long staff password"  # what staff_sign_in's users choose at first sign-in


def staff_code(secret: str) -> str:
    """Return the current TOTP code of a staff user's authenticator."""
    import pyotp

    return str(pyotp.TOTP(secret).now())


def make_staff(app: Flask, role: str, username: str | None = None) -> tuple[str, str, str]:
    """Create a staff user; return (username, one-time password, TOTP secret)."""
    from uuid import uuid4

    from identity.access import staff

    name = username or f"{role}-{uuid4().hex[:8]}"
    with app.app_context():
        new = staff.create(db.session(), name, role, "test")
        db.session().commit()
        return new.user.username, new.password, new.user.totp_secret


def staff_sign_in(client: FlaskClient, role: str) -> str:
    """Sign a browser (an https test client) into the console as a new staff user of `role`.

    Returns the username; the client then holds the staff session cookie.
    """
    username, password, secret = make_staff(client.application, role)
    token = csrf_from(client.get("/staff/login").text)
    response = client.post(
        "/staff/login",
        data={"username": username, "password": password, "code": staff_code(secret),
              "csrf_token": token},
    )  # fmt: skip
    assert response.status_code == 302, response.text
    # The printed password works once: choose one, as a person must at first sign-in.
    page = client.get("/staff/password")
    response = client.post(
        "/staff/password",
        data={"current": password, "new": STAFF_PASSWORD, "repeat": STAFF_PASSWORD,
              "csrf_token": csrf_from(page.text)},
    )  # fmt: skip
    assert response.status_code == 302 and response.location == "/staff/", response.text
    return username
