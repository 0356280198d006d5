"""The OpenAPI document is the contract: the real answers of the API must match it."""

from typing import Any

import pytest
from flask import Flask
from jsonschema import Draft202012Validator
from werkzeug.test import TestResponse

from tests.factories import (
    FATIMA,
    add_people,
    api_sign_in,
    api_start,
    api_verify,
    make_agency,
    phone_url,
    sent_codes,
)


@pytest.fixture
def spec(app: Flask) -> dict[str, Any]:
    return dict(app.test_client().get("/api/v1/openapi.json").json)


def conforms(spec: dict[str, Any], path: str, method: str, response: TestResponse) -> None:
    """Assert the response's status is documented for the operation and its body fits."""
    operation = spec["paths"][path][method]
    documented = operation["responses"]
    assert str(response.status_code) in documented, f"{response.status_code} undocumented"
    answer = documented[str(response.status_code)]
    if "$ref" in answer:
        answer = spec["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    if "content" not in answer:
        return
    schema = {
        **answer["content"]["application/json"]["schema"],
        **{"components": spec["components"]},
    }
    errors = list(Draft202012Validator(schema).iter_errors(response.json))
    assert errors == [], [e.message for e in errors]


def test_the_document_is_valid_openapi_31(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation["responses"], f"{method} {path} documents no answer"


def test_sign_in_answers_match(app: Flask, spec: dict[str, Any]) -> None:
    add_people(app, FATIMA)
    client = app.test_client()
    started = api_start(client, FATIMA.civil_id, FATIMA.file_number)
    conforms(spec, "/api/v1/auth/start", "post", started)
    conforms(spec, "/api/v1/auth/start", "post", api_start(client, "1", "1"))
    wrong = api_verify(client, started.json["txn"], "000000")
    conforms(spec, "/api/v1/auth/verify", "post", wrong)
    right = api_verify(client, started.json["txn"], sent_codes(app, FATIMA.phone)[-1])
    conforms(spec, "/api/v1/auth/verify", "post", right)
    bearer = {"Authorization": f"Bearer {right.json['access_token']}"}
    conforms(spec, "/api/v1/me/card", "get", client.get("/api/v1/me/card", headers=bearer))
    conforms(spec, "/api/v1/me/card", "get", client.get("/api/v1/me/card"))
    history = client.get("/api/v1/me/verifications", headers=bearer)
    conforms(spec, "/api/v1/me/verifications", "get", history)
    conforms(
        spec, "/api/v1/auth/logout", "post", client.post("/api/v1/auth/logout", headers=bearer)
    )
    conforms(
        spec, "/api/v1/auth/logout", "post", client.post("/api/v1/auth/logout", headers=bearer)
    )


def test_verify_answers_match(world: Flask, spec: dict[str, Any]) -> None:
    key = make_agency(world, scope="name,civil_id,file_number,phone,status,category")
    client = world.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    for qr in (phone_url(world), "garbage", "https://elsewhere.example/v/a.b.c"):
        answer = client.post("/api/v1/verify", json={"qr": qr, "purpose": "x"}, headers=headers)
        conforms(spec, "/api/v1/verify", "post", answer)
    conforms(spec, "/api/v1/verify", "post", client.post("/api/v1/verify", json={}))
    bad = client.post("/api/v1/verify", json={"qr": 1}, headers=headers)
    conforms(spec, "/api/v1/verify", "post", bad)
    token = api_sign_in(world)
    history = client.get("/api/v1/me/verifications", headers={"Authorization": f"Bearer {token}"})
    assert history.json["verifications"]
    conforms(spec, "/api/v1/me/verifications", "get", history)


def test_document_answers_match(app: Flask, spec: dict[str, Any]) -> None:
    import io

    from tests.factories import backoffice_token, make_pdf

    add_people(app, FATIMA)
    headers = {"Authorization": f"Bearer {backoffice_token(app)}"}
    client = app.test_client()

    def post(pdf: bytes):
        data = {
            "civil_id": FATIMA.civil_id,
            "type": "letter",
            "title": "A letter",
            "office": "Housing",
            "file": (io.BytesIO(pdf), "a.pdf"),
        }
        return client.post("/api/v1/documents", data=data, headers=headers)

    created = post(make_pdf())
    conforms(spec, "/api/v1/documents", "post", created)
    conforms(spec, "/api/v1/documents", "post", post(b"not a pdf"))
    document = f"/api/v1/documents/{created.json['id']}"
    conforms(spec, "/api/v1/documents/{id}", "get", client.get(document, headers=headers))
    revoke = client.post(document + "/revoke", json={"reason": "Wrong"}, headers=headers)
    conforms(spec, "/api/v1/documents/{id}/revoke", "post", revoke)
    again = client.post(document + "/revoke", json={"reason": "Wrong"}, headers=headers)
    assert again.status_code == 409
    conforms(spec, "/api/v1/documents/{id}/revoke", "post", again)


def test_back_office_answers_match(world: Flask, spec: dict[str, Any]) -> None:
    from sqlalchemy import select

    from identity import db
    from identity.models import Credential
    from tests.factories import backoffice_token

    headers = {"Authorization": f"Bearer {backoffice_token(world)}"}
    client = world.test_client()
    path = f"/api/v1/beneficiaries/{FATIMA.civil_id}"
    conforms(spec, "/api/v1/beneficiaries/{civil_id}", "get", client.get(path, headers=headers))
    body = client.get(path, headers=headers).json
    fields = ("file_number", "full_name_ar", "full_name_en", "phone", "status")
    update = client.put(path, json={k: body[k] for k in fields}, headers=headers)
    conforms(spec, "/api/v1/beneficiaries/{civil_id}", "put", update)
    with world.app_context():
        credential = db.session().scalars(select(Credential.id)).one()
    suspend = client.post(
        f"/api/v1/credentials/{credential}/suspend", json={"reason": "Review"}, headers=headers
    )
    conforms(spec, "/api/v1/credentials/{id}/suspend", "post", suspend)
    again = client.post(
        f"/api/v1/credentials/{credential}/suspend", json={"reason": "Review"}, headers=headers
    )
    conforms(spec, "/api/v1/credentials/{id}/suspend", "post", again)


def times_in(value: Any) -> list[str]:
    """Return every string of a JSON value that reads as a date and time."""
    from datetime import datetime

    if isinstance(value, dict):
        return [t for v in value.values() for t in times_in(v)]
    if isinstance(value, list):
        return [t for v in value for t in times_in(v)]
    if isinstance(value, str) and "T" in value:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return []
        return [value]
    return []


def test_every_time_the_api_gives_is_utc_with_z(any_app: Flask) -> None:
    """Prevents a time without an offset (SQLite hands back naive datetimes) in any API answer."""
    import io

    from tests.factories import backoffice_token, issue_ids, make_pdf

    add_people(any_app, FATIMA)
    issue_ids(any_app, FATIMA)
    client = any_app.test_client()
    agency = {"Authorization": f"Bearer {make_agency(any_app)}"}
    backoffice = {"Authorization": f"Bearer {backoffice_token(any_app)}"}
    form = {"civil_id": FATIMA.civil_id, "type": "letter", "title": "A letter", "office": "Housing"}
    issued = client.post(
        "/api/v1/documents", data={**form, "file": (io.BytesIO(make_pdf()), "a.pdf")},
        headers=backoffice,
    ).json  # fmt: skip
    answers = [
        issued,
        client.post("/api/v1/verify", json={"qr": phone_url(any_app), "purpose": "x"},
                    headers=agency).json,
        client.post("/api/v1/verify", json={"qr": issued["url"], "purpose": "x"},
                    headers=agency).json,
        client.get(f"/api/v1/documents/{issued['id']}", headers=backoffice).json,
        client.get(f"/api/v1/beneficiaries/{FATIMA.civil_id}", headers=backoffice).json,
        client.get("/api/v1/audit/head").json,
    ]  # fmt: skip
    holder = {"Authorization": f"Bearer {api_sign_in(any_app)}"}
    answers += [
        client.get("/api/v1/me/verifications", headers=holder).json,
        client.get("/api/v1/me/documents", headers=holder).json,
    ]
    times = times_in(answers)
    assert len(times) >= 8, times
    assert [t for t in times if not t.endswith("Z")] == []


# What the document covers: everything a program calls (pages for people are not in it).
MACHINE_PREFIXES = ("/api/", "/status/", "/.well-known/", "/healthz", "/readyz", "/metrics")


def shapes(rule: str) -> list[str]:
    """Spell a Flask rule as OpenAPI paths with every parameter as `{}`; `any(a, b)` expands."""
    import re

    parts = re.split(r"<([^>]+)>", rule)
    found = [""]
    for index, part in enumerate(parts):
        if index % 2 == 0:
            found = [f + part for f in found]
            continue
        choices = re.fullmatch(r"any\(([^)]*)\):\w+", part)
        options = [c.strip() for c in choices.group(1).split(",")] if choices else ["{}"]
        found = [f + option for f in found for option in options]
    return found


def test_every_route_for_programs_is_documented(app: Flask, spec: dict[str, Any]) -> None:
    """Prevents a route under /api/, /status/, /.well-known/, /healthz, /readyz or /metrics that
    the document leaves out (a new route fails until documented), or a documented one not served."""
    import re

    served = {
        (shape, method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(MACHINE_PREFIXES)
        for shape in shapes(rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    documented = {
        (re.sub(r"\{[^}]+\}", "{}", path), method)
        for path, operations in spec["paths"].items()
        for method in operations
    }
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"


def test_every_error_answer_is_the_one_error_schema(spec: dict[str, Any]) -> None:
    """Prevents an error response documented without the error schema (or with another)."""
    shared = spec["components"]["responses"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if int(status) < 400 or path == "/readyz":
                    continue
                assert "$ref" in answer, f"{method} {path} {status}"
                body = shared[answer["$ref"].rsplit("/", 1)[1]]["content"]["application/json"]
                assert body["schema"] == {"$ref": "#/components/schemas/Error"}
                if status in ("429", "503"):
                    assert "Retry-After" in shared[answer["$ref"].rsplit("/", 1)[1]]["headers"]


def test_holder_pdf_answer_matches(app: Flask, spec: dict[str, Any]) -> None:
    """Prevents the holder's PDF download going undocumented or answering off the document."""
    import io

    from tests.factories import backoffice_token, make_pdf

    add_people(app, FATIMA)
    client = app.test_client()
    backoffice = {"Authorization": f"Bearer {backoffice_token(app)}"}
    form = {"civil_id": FATIMA.civil_id, "type": "letter", "title": "A letter", "office": "Housing"}
    issued = client.post(
        "/api/v1/documents", data={**form, "file": (io.BytesIO(make_pdf()), "a.pdf")},
        headers=backoffice,
    ).json  # fmt: skip
    holder = {"Authorization": f"Bearer {api_sign_in(app)}"}
    listed = client.get("/api/v1/me/documents", headers=holder)
    conforms(spec, "/api/v1/me/documents", "get", listed)
    path = "/api/v1/me/documents/{id}/pdf"
    pdf = client.get(listed.json["documents"][0]["pdf_url"], headers=holder)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "application/pdf" in spec["paths"][path]["get"]["responses"]["200"]["content"]
    missing = client.get(f"/api/v1/me/documents/{issued['id'] + 1}/pdf", headers=holder)
    conforms(spec, path, "get", missing)
    conforms(spec, path, "get", client.get(listed.json["documents"][0]["pdf_url"]))


def test_the_civil_id_pattern_admits_every_spelling_the_api_accepts(spec: dict[str, Any]) -> None:
    """Prevents a documented civil ID pattern that refuses what the API accepts (Arabic-Indic,
    extended Arabic-Indic and full-width digits, edge marks) or admits what it always refuses."""
    import re

    from identity import civil_id

    pattern = re.compile(spec["components"]["schemas"]["CivilId"]["pattern"])
    ascii_id = FATIMA.civil_id
    spellings = [
        ascii_id,
        ascii_id.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
        ascii_id.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")),
        ascii_id.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
        f" \u200f{ascii_id}\u00a0\n",
    ]
    for spelling in spellings:
        assert civil_id.parse(spelling) == ascii_id
        assert pattern.search(spelling), repr(spelling)
    for refused in (ascii_id[:11], ascii_id + "0", f"{ascii_id[:6]} {ascii_id[6:]}", "x" * 12):
        assert not pattern.search(refused), repr(refused)
