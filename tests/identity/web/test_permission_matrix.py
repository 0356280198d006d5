"""Who may do what: every console route and back-office endpoint × every kind of caller.

The routes are read from the app itself, so a new console route or back-office endpoint fails
`test_every_guarded_route_is_in_the_matrix` until it is given a rule here. Each route is then
called by: nobody, a beneficiary (web session and bearer token), an agency key, each staff role,
a back-office token and a metrics token. A refused caller gets 401, 403 or (a page) the staff
sign-in, and changes nothing: the audit log, where every change leaves its entry, does not grow.
An allowed caller gets past the door (what the route then says of the input is its own test).
"""

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from identity import db, signing
from identity.access import agencies, api_tokens, staff
from identity.digital_id import credentials
from identity.models import AuditEvent, Credential, Document, StaffUser
from identity.register.beneficiaries import find
from tests.apps import https_client, make_app
from tests.factories import (
    FATIMA,
    NASSER,
    add_people,
    api_sign_in,
    csrf_from,
    make_pdf,
    make_staff,
    staff_sign_in,
    web_sign_in,
)

STAFF_ROLES = ("auditor", "issuer", "admin")
PRINCIPALS = ("anonymous", "beneficiary-web", "beneficiary-api", "agency", *STAFF_ROLES,
              "backoffice", "metrics")  # fmt: skip

# What each route needs: a staff permission (identity/access/staff.py), or an API token role.
RULES: dict[tuple[str, str], str] = {
    ("GET", "/staff/"): "read",
    ("GET", "/staff/search"): "read",
    ("GET", "/staff/password"): "read",
    ("POST", "/staff/password"): "read",
    ("GET", "/staff/beneficiaries/<int:beneficiary_id>"): "read",
    ("GET", "/staff/documents/<int:document_id>/pdf"): "read",
    ("GET", "/staff/agencies"): "read",
    ("GET", "/staff/keys"): "read",
    ("GET", "/staff/document-types"): "read",
    ("POST", "/staff/document-types"): "manage_document_types",
    ("GET", "/staff/audit"): "read",
    ("GET", "/staff/audit.csv"): "read",
    ("GET", "/staff/beneficiaries/<int:beneficiary_id>/verifications.csv"): "read",
    ("POST", "/staff/credentials/<credential_id>/<any(revoke, suspend, reinstate):action>"):
        "revoke",
    ("POST", "/staff/documents/<int:document_id>/revoke"): "revoke",
    ("GET", "/staff/credentials/<credential_id>/revoke"): "revoke",
    ("GET", "/staff/documents/<int:document_id>/revoke"): "revoke",
    ("POST", "/staff/beneficiaries/<int:beneficiary_id>/documents"): "issue",
    ("POST", "/staff/agencies"): "manage_agencies",
    ("POST", "/staff/agencies/<int:agency_id>/rotate"): "manage_agencies",
    ("POST", "/staff/agencies/<int:agency_id>/<any(disable, enable):change>"): "manage_agencies",
    ("POST", "/staff/keys/rotate"): "manage_keys",
    ("GET", "/staff/keys/<kid>/retire"): "manage_keys",
    ("POST", "/staff/keys/<kid>/retire"): "manage_keys",
    ("GET", "/staff/staff"): "manage_staff",
    ("POST", "/staff/staff"): "manage_staff",
    ("POST", "/staff/staff/<int:staff_id>/disable"): "manage_staff",
    ("GET", "/api/v1/beneficiaries/<raw_civil_id>"): "token:backoffice",
    ("PUT", "/api/v1/beneficiaries/<raw_civil_id>"): "token:backoffice",
    ("POST", "/api/v1/credentials/<credential_id>/<any(revoke, suspend, reinstate):action>"):
        "token:backoffice",
    ("POST", "/api/v1/documents"): "token:backoffice",
    ("GET", "/api/v1/documents/<int:document_id>"): "token:backoffice",
    ("GET", "/api/v1/documents/<int:document_id>/pdf"): "token:backoffice",
    ("POST", "/api/v1/documents/<int:document_id>/revoke"): "token:backoffice",
    ("POST", "/api/v1/documents/<int:document_id>/supersede"): "token:backoffice",
    ("GET", "/metrics"): "token:metrics",
}  # fmt: skip
# Open to everyone by design: the doors themselves.
OPEN = {("GET", "/staff/login"), ("POST", "/staff/login"), ("POST", "/staff/logout")}
GUARDED_PREFIXES = ("/staff/", "/api/v1/beneficiaries", "/api/v1/credentials",
                    "/api/v1/documents", "/metrics")  # fmt: skip


def allowed(rule: str, principal: str) -> bool:
    """The expected answer of the matrix."""
    if rule.startswith("token:"):
        return principal == rule.removeprefix("token:")
    return principal in STAFF_ROLES and staff.can(principal, rule)


@dataclass
class Caller:
    """A browser or an API client: its cookies live in `client`, its token in `headers`."""

    client: FlaskClient
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Office:
    """One app with everything the routes name, and a caller of each kind."""

    app: Flask
    callers: dict[str, Caller]
    values: dict[str, Any]


def _token(app: Flask, role: str) -> str:
    with app.app_context():
        new = api_tokens.create(db.session(), role, "test")
        db.session().commit()
        return new.token


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    """Built once for the module: each route's test only adds what its callers change."""
    app = make_app(Path(tmp_path_factory.mktemp("matrix")))
    with app.app_context():
        db.upgrade(db.get_db().engine)
    add_people(app, FATIMA, NASSER)
    with app.app_context():
        session = db.session()
        fatima = find(session, FATIMA.civil_id)
        assert fatima is not None
        credential = credentials.issue(session, fatima, "test")
        agency = agencies.create(session, "Housing Authority", "Eligibility", "name", "test")
        target_agency = agencies.create(session, "Target Agency", "Eligibility", "name", "test")
        session.commit()
        values = {
            "beneficiary_id": fatima.id, "credential_id": credential.id,
            "agency_id": target_agency.agency.id, "kid": signing.active_kid(),
            "raw_civil_id": FATIMA.civil_id, "action": "suspend", "change": "disable",
        }  # fmt: skip
        agency_key = agency.key
    target_staff, _password, _secret = make_staff(app, "auditor")
    with app.app_context():
        values["staff_id"] = (
            db.session()
            .scalars(select(StaffUser.id).where(StaffUser.username == target_staff))
            .one()
        )
    backoffice = _token(app, "backoffice")
    document = app.test_client().post(
        "/api/v1/documents",
        headers={"Authorization": f"Bearer {backoffice}"},
        content_type="multipart/form-data",
        data={"civil_id": FATIMA.civil_id, "type": "letter", "title": "Letter",
              "office": "Housing", "file": (io.BytesIO(make_pdf(1)), "a.pdf")},
    )  # fmt: skip
    assert document.status_code == 201, document.json
    values["document_id"] = document.json["id"]

    callers = {
        "anonymous": Caller(https_client(app)),
        "beneficiary-web": Caller(web_sign_in(app)),
        "beneficiary-api": Caller(
            https_client(app), {"Authorization": f"Bearer {api_sign_in(app, NASSER)}"}
        ),
        "agency": Caller(https_client(app), {"Authorization": f"Bearer {agency_key}"}),
        "backoffice": Caller(https_client(app), {"Authorization": f"Bearer {backoffice}"}),
        "metrics": Caller(https_client(app), {"Authorization": f"Bearer {_token(app, 'metrics')}"}),
    }
    for role in STAFF_ROLES:
        client = https_client(app)
        staff_sign_in(client, role)
        callers[role] = Caller(client)
    yield Office(app, callers, values)
    app.extensions["hawiya.db"].engine.dispose()


def guarded_routes(app: Flask) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(GUARDED_PREFIXES):
            for method in rule.methods - {"HEAD", "OPTIONS"}:  # type: ignore[operator]
                found.add((method, rule.rule))
    return found - OPEN


def audit_count(app: Flask) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(AuditEvent)) or 0


def call(office: Office, caller: Caller, method: str, rule: str) -> Any:
    endpoint = next(
        r.endpoint
        for r in office.app.url_map.iter_rules()
        if r.rule == rule and method in r.methods
    )
    with office.app.test_request_context():
        arguments = {k: v for k, v in office.values.items() if k in _arguments(office.app, rule)}
        url = office.app.url_map.bind("localhost").build(endpoint, arguments, method=method)
    if method == "GET":
        return caller.client.get(url, headers=caller.headers)
    if rule.startswith("/staff/"):
        # A form, sent the way the browser sends it: with this browser's CSRF token (any page's
        # form carries it; /d has one for everyone, signed in or not).
        token = csrf_from(caller.client.get("/d").text)
        form = {"csrf_token": token, "reason": "Matrix check", "name": "Matrix Agency",
                "purpose": "Checks", "scope": "name", "username": "matrix-user",
                "role": "auditor", "confirm": "no"}  # fmt: skip
        return caller.client.open(url, method=method, data=form, headers=caller.headers)
    return caller.client.open(url, method=method, json={"reason": "Matrix check"},
                              headers=caller.headers)  # fmt: skip


def _arguments(app: Flask, rule: str) -> set[str]:
    return next(r.arguments for r in app.url_map.iter_rules() if r.rule == rule)


def refused(response: Any, method: str, rule: str) -> bool:
    if response.status_code in (401, 403):
        return True
    # A page asked for by someone not signed in as staff: sent to the staff sign-in.
    return (
        method == "GET"
        and rule.startswith("/staff/")
        and response.status_code == 302
        and response.location.startswith("/staff/login")
    )


def test_every_guarded_route_is_in_the_matrix(office: Office) -> None:
    assert guarded_routes(office.app) == set(RULES)


@pytest.mark.parametrize(("method", "rule"), sorted(RULES))
def test_each_caller_gets_exactly_what_its_role_allows(
    office: Office, method: str, rule: str
) -> None:
    # The refused go first: their calls must leave the audit log as it was.
    ordered = sorted(PRINCIPALS, key=lambda p: allowed(RULES[(method, rule)], p))
    for principal in ordered:
        before = audit_count(office.app)
        response = call(office, office.callers[principal], method, rule)
        assert response.status_code < 500, (principal, response.status_code)
        if allowed(RULES[(method, rule)], principal):
            assert not refused(response, method, rule), (principal, response.status_code)
        else:
            assert refused(response, method, rule), (principal, response.status_code)
            assert audit_count(office.app) == before, f"{principal} changed something"
            if rule.startswith(("/api/", "/metrics")):
                assert set(response.json["error"]) == {"code", "message"}


def test_the_matrix_callers_are_who_they_claim(office: Office) -> None:
    """Guard the guard: each staff caller really is signed in with its role."""
    for role in STAFF_ROLES:
        page = office.callers[role].client.get("/staff/")
        assert page.status_code == 200, role
    with office.app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Credential)) >= 1
        assert db.session().scalar(select(func.count()).select_from(Document)) >= 1
