"""Every route of the app, walked with hostile inputs: never a 5xx, on SQLite and on PostgreSQL.

The routes are read from the app's URL map and the fields each one reads are recorded while an
ordinary request runs, so a new route or a new field is walked without editing this file. Each
route is called by the caller it needs (a staff session with its CSRF token, a beneficiary, an
agency key, a back-office or metrics token; anonymous otherwise) with, one at a time, a hostile
value in each path variable, each query field it reads and each body field it reads (JSON for
the API, a form for pages), the others ordinary; and by anyone with a deep JSON body and a NUL.
"""

import io
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from identity import db, signing
from identity.access import agencies, api_tokens, staff
from identity.models import StaffUser
from identity.register.beneficiaries import find
from identity.web.inputs import BoundedJsonProvider, storable
from tests.apps import https_client
from tests.factories import (
    FATIMA,
    NASSER,
    add_people,
    api_sign_in,
    backoffice_token,
    csrf_from,
    issue_ids,
    make_pdf,
    make_staff,
    phone_url,
    staff_sign_in,
    web_sign_in,
)

# Text values, for every kind of input. A lone surrogate travels as JSON's "\ud800" or as the
# raw bytes a URL can carry (%ED%A0%80).
HOSTILE_TEXT = [
    "a\x00b",
    "\ud800",
    "x\x07\x1b[31m\x7f\x85",
    "\u202eabc\u2066",
    "a\r\nSet-Cookie: x=1",
    "x" * 5000,
    "9" * 30,
    "²",
    "١٢٣",
]
# What JSON can carry besides text.
HOSTILE_JSON = [2**64, 1.5e308, -1, True, None, [], {"a": 1}]
HOSTILE_PATH = [
    "a%00b",
    "%ED%A0%80",
    "%FF%FE",
    "x%07%1B%E2%80%AE",
    "x" * 3000,
    "9" * 30,
    str(2**31),
    "%C2%B2",
    "-1",
]
DEEP = "[" * 1000 + "]" * 1000
ORDINARY = {
    "reason": "Hostile input walk",
    "purpose": "Eligibility check",
    "civil_id": FATIMA.civil_id,
    "file_number": FATIMA.file_number,
    "full_name_ar": FATIMA.full_name_ar,
    "full_name_en": FATIMA.full_name_en,
    "phone": FATIMA.phone,
    "status": "active",
    "category": "A",
    "txn": "t" * 32,
    "code": "123456",
    "title": "Housing letter",
    "office": "Housing",
    "type": "letter",
    "name": "Walk Agency",
    "scope": "name",
    "rate_limit": "60",
    "username": "walk-user",
    "role": "auditor",
    "confirm": "no",
    "number": "HW-2026-000001",
    "q": "Fatima",
    "next": "/staff/",
    "before": "10",
    "action": "credential.revoke",
    "actor": "staff",
    "subject": "document",
    "from": "2026-01-01",
    "to": "2026-12-31",
    "lang": "en",
    "sha256": "0" * 64,
}
STAFF_ROLE = "admin"
# Who calls a route, by the start of its path; anyone else is anonymous.
CALLERS = (
    ("/staff/login", "anonymous"),
    ("/staff/", "staff"),
    ("/api/v1/beneficiaries", "backoffice"),
    ("/api/v1/credentials", "backoffice"),
    ("/api/v1/documents", "backoffice"),
    ("/api/v1/verify", "agency"),
    ("/api/v1/me", "holder-api"),
    ("/api/v1/auth/logout", "holder-api"),
    ("/me", "holder-web"),
    ("/logout", "holder-web"),
    ("/metrics", "metrics"),
)
# Found by this walk, owned by another item of issue 12 (supersede's `by`, a digit string past
# an id or with "²"): skipped here until that fix is merged, then this set must be emptied.
VARIABLE = re.compile(r"<(?:[^<>]*?:)?(\w+)>")
READ: set[str] = set()  # the fields the request being recorded asked for


class RecordingMultiDict(ImmutableMultiDict[str, Any]):
    """Query and form fields that note every name a view asks for."""

    def get(self, key: str, default: Any = None, type: Any = None) -> Any:
        READ.add(key)
        return super().get(key, default, type)

    def getlist(self, key: str, type: Any = None) -> list[Any]:
        READ.add(key)
        return super().getlist(key, type)

    def __getitem__(self, key: str) -> Any:
        READ.add(key)
        return super().__getitem__(key)


class RecordingDict(dict[str, Any]):
    """A JSON body that notes every name a view asks for (all of them when it walks the body)."""

    def get(self, key: str, default: Any = None) -> Any:
        READ.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        READ.add(key)
        return super().__getitem__(key)

    def items(self) -> Any:
        READ.update(self.keys())
        return super().items()


class RecordingJson(BoundedJsonProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        value = super().loads(s, **kwargs)
        return RecordingDict(value) if isinstance(value, dict) else value


@dataclass
class Caller:
    client: FlaskClient
    headers: dict[str, str] = field(default_factory=dict)
    csrf: str = ""


@dataclass
class Walk:
    app: Flask
    callers: dict[str, Caller]
    values: dict[str, Any]  # path variables by name
    ordinary: dict[str, Any]  # field values by name
    failures: list[str] = field(default_factory=list)
    sent: int = 0


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height), 255).save(out, "PNG")
    return out.getvalue()


FILES = {"file": make_pdf(1), "image": png(8, 8)}  # ordinary uploads, by field name
HOSTILE_FILES = [b"", b"\x00" * 64, png(70_000, 1), make_pdf(1)[:100]]


@pytest.fixture
def walk(any_app: Flask, monkeypatch: pytest.MonkeyPatch) -> Walk:
    """Fatima with an ID and two documents, agencies, staff, and a caller of every kind.

    Fatima is signed in on the web, Nasser in the app (one code each: the resend cooldown).
    """
    app = any_app
    # Speed only: the walk signs in and changes passwords hundreds of times.
    monkeypatch.setattr(
        staff, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024), raising=False
    )
    add_people(app, FATIMA, NASSER)
    [credential_id] = issue_ids(app, FATIMA)
    qr = phone_url(app)
    backoffice = backoffice_token(app)
    documents = []
    for title in ("Housing letter", "Replacement letter"):
        issued = app.test_client().post(
            "/api/v1/documents",
            headers={"Authorization": f"Bearer {backoffice}"},
            content_type="multipart/form-data",
            data={"civil_id": FATIMA.civil_id, "type": "letter", "title": title,
                  "office": "Housing", "file": (io.BytesIO(make_pdf(1)), "a.pdf")},
        )  # fmt: skip
        assert issued.status_code == 201, issued.json
        documents.append(issued.json["id"])
    target_staff, _password, _secret = make_staff(app, "auditor")
    with app.app_context():
        session = db.session()
        fatima = find(session, FATIMA.civil_id)
        assert fatima is not None
        agency = agencies.create(session, "Walk Verifier", "Eligibility", "name,status", "test",
                                 100_000)  # fmt: skip
        target = agencies.create(session, "Target Agency", "Eligibility", "name", "test")
        metrics = api_tokens.create(session, "metrics", "test")
        session.commit()
        values = {
            "beneficiary_id": fatima.id, "document_id": documents[0], "agency_id": target.agency.id,
            "staff_id": session.scalars(
                select(StaffUser.id).where(StaffUser.username == target_staff)
            ).one(),
            "kid": signing.active_kid(), "raw_civil_id": FATIMA.civil_id,
            "credential_id": credential_id, "action": "suspend", "change": "disable",
            "number": 0, "token": "a.b.c", "reference": "r" * 22,
        }  # fmt: skip
        agency_key, metrics_token = agency.key, metrics.token
    callers = {
        "anonymous": Caller(https_client(app)),
        "holder-web": Caller(web_sign_in(app)),
        "holder-api": Caller(
            https_client(app), {"Authorization": f"Bearer {api_sign_in(app, NASSER)}"}
        ),
        "agency": Caller(https_client(app), {"Authorization": f"Bearer {agency_key}"}),
        "backoffice": Caller(https_client(app), {"Authorization": f"Bearer {backoffice}"}),
        "metrics": Caller(https_client(app), {"Authorization": f"Bearer {metrics_token}"}),
        "staff": Caller(https_client(app)),
    }
    staff_sign_in(callers["staff"].client, STAFF_ROLE)
    for caller in callers.values():
        caller.csrf = csrf_from(caller.client.get("/d").text)
    # From here on the app notes the fields each view asks for.
    app.json = RecordingJson(app)
    app.request_class = type("RecordingRequest", (app.request_class,),
                             {"parameter_storage_class": RecordingMultiDict})  # fmt: skip
    ordinary = {**ORDINARY, "by": documents[1], "qr": qr}
    return Walk(app, callers, values, ordinary)


def caller_of(rule: str) -> str:
    for prefix, who in CALLERS:
        if rule.startswith(prefix):
            return who
    return "anonymous"


def routes(app: Flask) -> list[tuple[str, Rule]]:
    """Every (method, rule) of the app; the ones that end a session last."""
    found = [
        (method, rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})  # type: ignore[operator]
    ]
    return sorted(found, key=lambda pair: ("logout" in pair[1].rule, pair[1].rule, pair[0]))


def path_of(rule: Rule, values: dict[str, Any], hostile: tuple[str, str] | None = None) -> str:
    """The rule's path with ordinary values, or one variable given a hostile (encoded) value."""

    def value(match: re.Match[str]) -> str:
        name = match[1]
        if hostile and hostile[0] == name:
            return hostile[1]
        return quote(str(values.get(name, 1 if "int:" in match[0] else "x")), safe="")

    return VARIABLE.sub(value, rule.rule)


@dataclass(frozen=True)
class Call:
    """How one route is called: by whom, and with its body as JSON or as a form."""

    who: str
    method: str
    path: str
    form: bool

    @property
    def has_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")


def send(
    walk: Walk,
    call: Call,
    path: str | None = None,
    *,
    query: dict[str, Any] | None = None,
    body: dict[str, Any] | None = None,
    raw_json: str | None = None,
) -> TestResponse:
    """Send one request; a body as JSON, or as a form (with its CSRF token) where a file goes."""
    caller = walk.callers[call.who]
    # A lone surrogate goes as the bytes a URL would carry: %ED%A0%80.
    encoded = urlencode(query, errors="surrogatepass") if query else None
    options: dict[str, Any] = {"headers": caller.headers, "query_string": encoded}
    if raw_json is not None:
        options.update(data=raw_json, content_type="application/json")
    elif body is not None and not call.form:
        options["json"] = body
    elif body is not None:
        form = {"csrf_token": caller.csrf, **body}
        for name, content in form.items():
            if isinstance(content, bytes):
                form[name] = (io.BytesIO(content), f"upload.{'pdf' if name == 'file' else 'png'}")
        options.update(data=form, content_type="multipart/form-data")
    walk.sent += 1
    return caller.client.open(path or call.path, method=call.method, **options)


def check(walk: Walk, response: TestResponse, what: str) -> None:
    if response.status_code >= 500:
        walk.failures.append(f"{response.status_code} {what}")


def discover(walk: Walk, who: str, method: str, path: str) -> tuple[Call, list[str]]:
    """Call a route the ordinary way; return how, and the names of the fields it asked for.

    A body goes as JSON to the API and as a form to pages; the other way round if refused (415).
    """
    for form in (False, True) if path.startswith("/api/") else (True, False):
        call = Call(who, method, path, form)
        body = None
        if call.has_body:
            body = {**walk.ordinary, **(FILES if form else {})}
        READ.clear()
        response = send(walk, call, query={"lang": "en"}, body=body)
        check(walk, response, f"{method} {path} (ordinary)")
        if response.status_code != 415 or not call.has_body:
            break
    return call, sorted(READ - {"csrf_token"})


def body_of(walk: Walk, names: list[str], **hostile: Any) -> dict[str, Any]:
    """The ordinary value of each field (an ordinary file for a file), some made hostile."""
    ordinary = {n: FILES.get(n, walk.ordinary.get(n, "x")) for n in names}
    return ordinary | hostile


def walk_route(walk: Walk, method: str, rule: Rule) -> None:
    call, names = discover(walk, caller_of(rule.rule), method, path_of(rule, walk.values))
    body = body_of(walk, names) if call.has_body else None
    for variable in rule.arguments:
        for value in HOSTILE_PATH:
            path = path_of(rule, walk.values, (variable, value))
            check(walk, send(walk, call, path, body=body), f"{method} {path}")
    for name in names:
        values: list[Any] = HOSTILE_TEXT
        if name in FILES:
            values = HOSTILE_FILES
        elif call.has_body and not call.form:
            values = HOSTILE_TEXT + HOSTILE_JSON
        for value in values:
            if call.form and isinstance(value, str) and not value.isascii() and not storable(value):
                continue  # a form cannot carry a lone surrogate (werkzeug decodes with U+FFFD)
            what = f"{method} {call.path} {name}={value!r:.40}"
            if call.has_body:
                response = send(walk, call, body=body_of(walk, names, **{name: value}))
            else:
                response = send(walk, call, query=body_of(walk, names, **{name: value}))
            check(walk, response, what)
    # Anyone, whatever the route reads: a NUL in the query, and a body 1,000 deep.
    anyone = Call("anonymous", method, call.path, call.form)
    check(walk, send(walk, anyone, query={"q": "\x00"}), f"{method} {call.path}?q=NUL")
    if call.has_body:
        for who in sorted({"anonymous", call.who}):
            response = send(walk, Call(who, method, call.path, False), raw_json=DEEP)
            check(walk, response, f"{method} {call.path} deep JSON as {who}")


def test_no_hostile_input_gets_a_server_error(walk: Walk) -> None:
    """Every route, every input it reads, every kind of hostile value: a 4xx at worst, never a
    5xx (and so never a half-written change or a stack trace)."""
    for method, rule in routes(walk.app):
        walk_route(walk, method, rule)
    assert walk.sent > 1000  # the walk really walked
    assert not walk.failures, "\n".join(walk.failures[:40])
