"""`/api/docs`: the API's documentation for people, from the same OpenAPI document as
`/api/v1/openapi.json`, in Arabic and English, with nothing from elsewhere."""

import html
import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from identity.web.api_docs import reference
from identity.web.headers import CSP
from identity.web.refusals import STATUS
from identity.web.wellknown import OPENAPI

DOCUMENT = json.loads(OPENAPI.read_text(encoding="utf-8"))
ATTRIBUTE = re.compile(r'\b(?:href|src|action|srcset|poster|data)="([^"]*)"')


def page(client: FlaskClient, lang: str) -> str:
    answer = client.get(f"/api/docs?lang={lang}")
    assert answer.status_code == 200
    assert answer.mimetype == "text/html"
    return html.unescape(answer.get_data(as_text=True))


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_every_path_and_method_of_the_openapi_document_is_on_the_page(
    client: FlaskClient, lang: str
) -> None:
    shown = page(client, lang)
    for path, methods in DOCUMENT["paths"].items():
        for method, operation in methods.items():
            assert f"{method.upper()}</span> <code>{path}</code>" in shown, (method, path)
            assert operation.get("summary", "") in shown
    for name in DOCUMENT["components"]["schemas"]:
        assert f'id="schema-{name}"' in shown
    for name in DOCUMENT["components"]["securitySchemes"]:
        assert f'id="scheme-{name}"' in shown


def test_the_page_reads_the_served_document(client: FlaskClient) -> None:
    served = client.get("/api/v1/openapi.json").get_json()
    assert served == DOCUMENT
    assert reference(served).paths == tuple(DOCUMENT["paths"])


def test_every_error_code_is_listed(client: FlaskClient) -> None:
    shown = page(client, "en")
    section = shown[shown.index('id="error-codes"') : shown.index('id="operations"')]
    for code, status in STATUS.items():
        assert f"<code>{code}</code>" in section, code
        assert f"<code>{status}</code>" in section, status


def test_our_words_are_in_arabic_and_english(client: FlaskClient) -> None:
    arabic, english = page(client, "ar"), page(client, "en")
    assert '<html lang="ar" dir="rtl">' in arabic and '<html lang="en" dir="ltr">' in english
    for en, ar in [
        ("API documentation", "توثيق الواجهة البرمجية"),
        ("Authentication", "المصادقة"),
        ("Error codes", "رموز الأخطاء"),
        ("Request body", "جسم الطلب"),
        ("Responses", "الإجابات"),
    ]:
        assert en in english and ar in arabic and ar not in english
        assert f">{en}<" not in arabic
    # The API's descriptions stay English, marked so, on the Arabic page too.
    assert '<p lang="en" dir="ltr">' + DOCUMENT["info"]["description"] in arabic


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_nothing_on_the_page_comes_from_elsewhere(client: FlaskClient, lang: str) -> None:
    raw = client.get(f"/api/docs?lang={lang}").get_data(as_text=True)
    assert "<script" not in raw and "style=" not in raw and "@import" not in raw
    for value in ATTRIBUTE.findall(raw):
        assert value.startswith(("/", "#", "?")), value
        assert not value.startswith("//"), value
    for value in re.findall(r'href="(/static/[^"]+)"', raw):
        assert client.get(value).status_code == 200, value


def test_every_link_within_the_page_has_its_target(client: FlaskClient) -> None:
    raw = client.get("/api/docs?lang=en").get_data(as_text=True)
    ids = set(re.findall(r'\bid="([^"]+)"', raw))
    targets = set(re.findall(r'href="#([^"]+)"', raw))
    assert targets and targets <= ids, targets - ids


def test_the_page_keeps_the_sites_content_security_policy(client: FlaskClient) -> None:
    assert client.get("/api/docs").headers["Content-Security-Policy"] == CSP


def test_a_schema_is_shown_with_its_properties_and_links(app: Flask) -> None:
    document = {
        "info": {"title": "T", "version": "1"},
        "paths": {
            "/things/{id}": {
                "get": {
                    "summary": "A thing",
                    "parameters": [{"name": "id", "in": "path", "required": True,
                                    "schema": {"type": "integer", "minimum": 1}}],
                    "responses": {"200": {"$ref": "#/components/responses/Thing"}},
                }
            }
        },
        "components": {
            "responses": {"Thing": {"description": "Found", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}},
            "schemas": {"Thing": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string", "maxLength": 9},
                "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}}}},
                "Tag": {"enum": ["a", "b"]}},
        },
    }  # fmt: skip
    (operation,) = reference(document).operations
    assert (operation.method, operation.anchor, operation.security) == ("GET", "get-things-id", ())
    (parameter,) = operation.parameters
    assert (parameter.where, parameter.type.text) == ("path", "integer (at least 1)")
    (answer,) = operation.answers
    assert answer.description == "Found" and answer.bodies[0].shape.type.ref == "Thing"
    schemas = dict(reference(document).schemas)
    name, tags = schemas["Thing"].fields
    assert name.required and name.type.text == "string (at most 9 characters)"
    assert not tags.required and (tags.type.text, tags.type.ref) == ("array of Tag", "Tag")
    assert schemas["Tag"].type.text == 'one of "a", "b"'
