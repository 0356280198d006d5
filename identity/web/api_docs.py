"""`/api/docs`: the API's documentation for people, rendered from the same OpenAPI document that
`/api/v1/openapi.json` serves (identity/web/openapi.json), with our own template and styles: no
script, nothing fetched from anywhere else, under the site's Content-Security-Policy.

Our own words on the page (headings, labels) are in Arabic and English; the API's descriptions
stay as the document writes them (English).
"""

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from flask import Blueprint, render_template

from identity.web.refusals import STATUS
from identity.web.wellknown import OPENAPI

bp = Blueprint("api_docs", __name__)

METHODS = ("get", "put", "post", "patch", "delete")
REF = "#/components/"


@dataclass(frozen=True)
class Type:
    """How a schema reads in one line: its text, and the named schema it links to, if any."""

    text: str
    ref: str | None = None


@dataclass(frozen=True)
class Field:
    """A parameter, or a property of an object."""

    name: str
    type: Type
    required: bool
    description: str = ""
    where: str = ""  # path, query or header, for a parameter


@dataclass(frozen=True)
class Shape:
    """A schema as shown: its one-line type, its description and its properties, if an object."""

    type: Type
    description: str = ""
    fields: tuple[Field, ...] = ()


@dataclass(frozen=True)
class Body:
    """A request or response body of one media type."""

    media_type: str
    shape: Shape


@dataclass(frozen=True)
class Answer:
    """A response: its status, description and bodies."""

    status: str
    description: str
    bodies: tuple[Body, ...] = ()


@dataclass(frozen=True)
class Operation:
    """One method of one path."""

    method: str
    path: str
    anchor: str
    summary: str
    description: str
    security: tuple[tuple[str, str], ...]  # (scheme, its description); empty: public
    parameters: tuple[Field, ...]
    body: tuple[Body, ...]
    required_body: bool
    answers: tuple[Answer, ...]


@dataclass(frozen=True)
class Reference:
    """The whole page's content."""

    title: str
    version: str
    description: str
    operations: tuple[Operation, ...]
    schemes: tuple[tuple[str, str], ...]
    schemas: tuple[tuple[str, Shape], ...]
    error_codes: tuple[tuple[int, tuple[str, ...]], ...]
    paths: tuple[str, ...] = field(default=())


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a $ref to a component (responses, parameters); other nodes are returned as is."""
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith(REF):
        return node
    found: Any = document["components"]
    for part in ref[len(REF) :].split("/"):
        found = found[part]
    return _resolve(document, found)


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_of(schema: dict[str, Any]) -> Type:
    """Return a schema's type in one line: `string`, `array of Document`, `one of a, b`."""
    if "$ref" in schema:
        return Type(_ref_name(schema["$ref"]), _ref_name(schema["$ref"]))
    for combined in ("oneOf", "anyOf", "allOf"):
        if combined in schema:
            parts = [type_of(part).text for part in schema[combined]]
            word = " and " if combined == "allOf" else " or "
            return Type(word.join(parts))
    if "enum" in schema:
        return Type("one of " + ", ".join(json.dumps(value) for value in schema["enum"]))
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " or ".join(str(part) for part in kind)
    if kind == "array":
        items = type_of(schema.get("items", {}))
        return Type(f"array of {items.text}", items.ref)
    details = []
    if "format" in schema:
        details.append(str(schema["format"]))
    details.append(_between(schema.get("minimum"), schema.get("maximum"), ""))
    details.append(_between(schema.get("minLength"), schema.get("maxLength"), " characters"))
    if "pattern" in schema:
        details.append(f"pattern {schema['pattern']}")
    details = [detail for detail in details if detail]
    return Type(f"{kind} ({'; '.join(details)})" if details else str(kind))


def _between(least: object, most: object, unit: str) -> str:
    """Say a range: `1 to 9 characters`, `at least 1`, `at most 9 characters`, or nothing."""
    if least is not None and most is not None:
        return f"{least} to {most}{unit}"
    if least is not None:
        return f"at least {least}{unit}"
    return f"at most {most}{unit}" if most is not None else ""


def shape_of(schema: dict[str, Any]) -> Shape:
    """Return a schema as shown: an object's properties one level deep, named schemas linked."""
    required = set(schema.get("required", ()))
    fields = tuple(
        Field(name, type_of(prop), name in required, str(prop.get("description", "")))
        for name, prop in schema.get("properties", {}).items()
    )
    return Shape(type_of(schema), str(schema.get("description", "")), fields)


def _bodies(content: dict[str, Any]) -> tuple[Body, ...]:
    return tuple(
        Body(media_type, shape_of(media.get("schema", {})))  # a named schema is a link
        for media_type, media in content.items()
    )


def _operation(document: dict[str, Any], path: str, method: str, node: dict[str, Any]) -> Operation:
    schemes = document["components"].get("securitySchemes", {})
    security = tuple(
        (name, str(schemes.get(name, {}).get("description", "")))
        for requirement in node.get("security", document.get("security", []))
        for name in requirement
    )
    parameters = tuple(
        Field(
            param["name"], type_of(param.get("schema", {})), bool(param.get("required")),
            str(param.get("description", "")), str(param.get("in", "")),
        )
        for param in (_resolve(document, raw) for raw in node.get("parameters", ()))
    )  # fmt: skip
    request = _resolve(document, node.get("requestBody", {}))
    responses = {
        status: _resolve(document, raw) for status, raw in node.get("responses", {}).items()
    }
    answers = tuple(
        Answer(status, str(a.get("description", "")), _bodies(a.get("content", {})))
        for status, a in responses.items()
    )
    anchor = f"{method}-{path.strip('/').replace('/', '-').replace('{', '').replace('}', '')}"
    return Operation(
        method.upper(), path, anchor, str(node.get("summary", "")),
        str(node.get("description", "")), security, parameters,
        _bodies(request.get("content", {})), bool(request.get("required")), answers,
    )  # fmt: skip


def reference(document: dict[str, Any]) -> Reference:
    """Return what the page shows of an OpenAPI document: every operation, scheme and schema."""
    operations = tuple(
        _operation(document, path, method, node)
        for path, methods in document["paths"].items()
        for method, node in methods.items()
        if method in METHODS
    )
    components = document.get("components", {})
    schemes = tuple(
        (name, str(scheme.get("description", "")))
        for name, scheme in components.get("securitySchemes", {}).items()
    )
    schemas = tuple(
        (name, shape_of(schema)) for name, schema in components.get("schemas", {}).items()
    )
    by_status: dict[int, list[str]] = {}
    for code, status in STATUS.items():
        by_status.setdefault(status, []).append(code)
    info = document.get("info", {})
    return Reference(
        str(info.get("title", "")), str(info.get("version", "")), str(info.get("description", "")),
        operations, schemes, schemas,
        tuple((status, tuple(codes)) for status, codes in sorted(by_status.items())),
        tuple(document["paths"]),
    )  # fmt: skip


@cache
def _ours() -> Reference:
    """Our document's reference: the file does not change while the server runs."""
    return reference(json.loads(OPENAPI.read_text(encoding="utf-8")))


@bp.get("/api/docs")
def api_docs() -> str:
    """Show the API's documentation."""
    return render_template("api/docs.html", api=_ours())
