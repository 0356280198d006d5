"""A document as JSON: one serialiser, each caller naming what it may disclose."""

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask

from identity.documents import documents
from identity.models import Document
from identity.web import backoffice
from identity.web.holder import documents as holder_documents
from verification.web import api


def two_documents() -> tuple[Document, Document]:
    """A valid document and an older one it replaced (rows are not needed to describe them)."""
    new = Document(
        id=7,
        reference="REF7abc",
        number="HW-2026-000007",
        type="letter",
        title="Housing",
        office="Office",
        issued_at=datetime(2026, 1, 2, 3, 4, 5),
        sha256="ab" * 32,
        status="valid",
        reason=None,
        superseded_by_id=None,
    )
    old = Document(id=3, reference="REF3xyz", number="HW-2026-000003", type="letter",
                   title="Old", office="Office", sha256="cd" * 32, status="superseded",
                   issued_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC), reason="replaced",
                   superseded_by_id=7, code_hash="secret")  # fmt: skip
    old.superseded_by = new
    return new, old


def test_each_reader_gets_its_fields_in_its_order(app: Flask) -> None:
    _, old = two_documents()
    with app.test_request_context("/"):
        answers: dict[str, dict[str, Any]] = {
            "backoffice": backoffice.document_json(old),
            "holder": holder_documents.as_json(old),
            "agency": api.document(SimpleNamespace(document=old), "CD" * 32),  # type: ignore[arg-type]
        }
    assert list(answers["holder"]) == [
        "id", "number", "type", "title", "office", "issued_at", "status", "url", "pdf_url",
    ]  # fmt: skip
    assert list(answers["backoffice"]) == [
        "id", "number", "type", "title", "office", "issued_at", "status", "url",
        "reference", "reason", "superseded_by", "sha256", "pdf_url",
    ]  # fmt: skip
    assert list(answers["agency"]) == [
        "number", "type", "title", "office", "issued_at", "status", "reason", "superseded_by",
        "sha256", "hash_matches",
    ]  # fmt: skip
    assert answers["backoffice"]["superseded_by"] == 7  # the back office reads ids
    assert answers["agency"]["superseded_by"] == "HW-2026-000007"  # an agency, printed numbers
    assert answers["agency"]["hash_matches"] is True
    assert answers["holder"]["issued_at"] == "2025-01-02T03:04:05Z"
    assert answers["holder"]["url"].endswith("/d/REF3xyz")
    assert answers["holder"]["pdf_url"] == "/api/v1/me/documents/3/pdf"
    assert answers["backoffice"]["pdf_url"] == "/api/v1/documents/3/pdf"
    for answer in answers.values():
        assert "secret" not in answer.values() and "code_hash" not in answer


def test_a_field_no_one_declared_cannot_be_disclosed(app: Flask) -> None:
    _, old = two_documents()
    with app.app_context(), pytest.raises(KeyError):
        documents.as_json(old, ("number", "code_hash"))
