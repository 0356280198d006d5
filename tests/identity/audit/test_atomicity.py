"""Every state change writes its audit entry in the same transaction: a failure rolls back both.

Each action runs twice against the same starting state: once as it is (the state and the audit
log change together), once with the audit write failing just after it wrote its row (nothing
changes at all: not the state, not the log). The first run proves the second can fail.
"""

import io
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from identity import db
from identity.audit import chain
from identity.models import Credential, Document
from tests.factories import (
    FATIMA,
    NASSER,
    add_people,
    backoffice_token,
    issue_ids,
    make_agency,
    make_pdf,
)

# The tables whose rows a state change may touch; compared whole before and after.
STATE_TABLES = ("beneficiaries", "credentials", "documents", "document_files", "agencies",
                "api_tokens", "audit_events")  # fmt: skip


class AuditWriteFailed(RuntimeError):
    """Stands for a crash or a database error right after the audit row was written."""


def snapshot(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    with app.app_context():
        session = db.session()
        return {
            table: [
                tuple(row) for row in session.execute(text(f"SELECT * FROM {table} ORDER BY 1"))
            ]
            for table in STATE_TABLES
        }


@contextmanager
def failing_audit(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Make every audit write fail after writing its rows; yield the actions it was asked for."""
    real, real_many, asked = chain.record, chain.record_many, []

    def record_then_fail(session: Any, actor: str, action: str, *args: Any, **kw: Any) -> Any:
        real(session, actor, action, *args, **kw)
        asked.append(action)
        raise AuditWriteFailed(action)

    def record_many_then_fail(session: Any, entries: list[chain.Entry]) -> None:
        real_many(session, entries)
        asked.extend(entry.action for entry in entries)
        if entries:
            raise AuditWriteFailed(entries[0].action)

    with monkeypatch.context() as patch:
        patch.setattr(chain, "record", record_then_fail)
        patch.setattr(chain, "record_many", record_many_then_fail)
        yield asked


@pytest.fixture
def office(app: Flask) -> tuple[Flask, dict[str, str]]:
    """Fatima with a digital ID and a document, Nasser without one, a back-office token."""
    add_people(app, FATIMA, NASSER)
    issue_ids(app, FATIMA)
    headers = {"Authorization": f"Bearer {backoffice_token(app)}"}
    assert upload(app, headers).status_code == 201
    return app, headers


def upload(app: Flask, headers: dict[str, str]) -> Any:
    data = {
        "civil_id": FATIMA.civil_id, "type": "housing_file_statement", "title": "Statement",
        "office": "Housing Welfare Authority", "file": (io.BytesIO(make_pdf()), "letter.pdf"),
    }  # fmt: skip
    return app.test_client().post(
        "/api/v1/documents", data=data, headers=headers, content_type="multipart/form-data"
    )


def credential_id(app: Flask) -> str:
    with app.app_context():
        return db.session().scalars(select(Credential.id)).one()


def document_id(app: Flask) -> int:
    with app.app_context():
        return db.session().scalars(select(Document.id)).one()


def api(method: str, path: Callable[[Flask], str], **body: Any) -> Callable[..., None]:
    def act(app: Flask, headers: dict[str, str]) -> None:
        app.test_client().open(path(app), method=method, json=body, headers=headers)

    return act


def cli(*args: str) -> Callable[..., None]:
    def act(app: Flask, _headers: dict[str, str]) -> None:
        app.test_cli_runner().invoke(args=list(args))

    return act


def import_new_phone(app: Flask, _headers: dict[str, str]) -> None:
    """Import a register file that gives Fatima a new phone (Nasser unchanged)."""
    header = "civil_id,file_number,full_name_ar,full_name_en,phone,status"
    rows = [
        ",".join([p.civil_id, p.file_number, p.full_name_ar, p.full_name_en, phone, p.status])
        for p, phone in ((FATIMA, "+96560000002"), (NASSER, NASSER.phone))
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "register.csv"
        path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
        app.test_cli_runner().invoke(args=["beneficiaries", "import", str(path)])


ACTIONS: dict[str, tuple[Callable[..., None], str]] = {
    "credential revoke": (
        api("POST", lambda a: f"/api/v1/credentials/{credential_id(a)}/revoke", reason="Fraud"),
        "credential.revoke",
    ),
    "credential suspend": (
        api("POST", lambda a: f"/api/v1/credentials/{credential_id(a)}/suspend", reason="Review"),
        "credential.suspend",
    ),
    "beneficiary new phone": (
        api(
            "PUT",
            lambda _a: f"/api/v1/beneficiaries/{FATIMA.civil_id}",
            file_number=FATIMA.file_number,
            full_name_ar=FATIMA.full_name_ar,
            full_name_en=FATIMA.full_name_en,
            phone="+96560000001",
            status="active",
        ),
        "beneficiary.update",
    ),
    "beneficiary deceased": (
        api(
            "PUT",
            lambda _a: f"/api/v1/beneficiaries/{FATIMA.civil_id}",
            file_number=FATIMA.file_number,
            full_name_ar=FATIMA.full_name_ar,
            full_name_en=FATIMA.full_name_en,
            phone=FATIMA.phone,
            status="deceased",
        ),
        "beneficiary.update",
    ),
    "beneficiary import (CLI)": (import_new_phone, "beneficiary.update"),
    "document issue": (lambda app, headers: upload(app, headers), "document.issue"),
    "document revoke": (
        api("POST", lambda a: f"/api/v1/documents/{document_id(a)}/revoke", reason="Withdrawn"),
        "document.revoke",
    ),
    "credential issue (CLI)": (cli("credentials", "issue", NASSER.civil_id), "credential.issue"),
    "agency create (CLI)": (
        cli("agencies", "create", "Social Affairs", "--purpose", "Aid", "--scope", "name"),
        "agency.create",
    ),
    "agency disable (CLI)": (cli("agencies", "disable", "Housing Authority"), "agency.disable"),
    "token create (CLI)": (cli("tokens", "create", "--role", "backoffice"), "token.create"),
}


@pytest.mark.parametrize("name", ACTIONS)
def test_a_failed_audit_write_leaves_no_trace_of_the_change(
    office: tuple[Flask, dict[str, str]], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    app, headers = office
    act, action = ACTIONS[name]
    if name == "agency disable (CLI)":
        make_agency(app)
    before = snapshot(app)
    with failing_audit(monkeypatch) as asked:
        act(app, headers)
    assert action in asked, f"{name} did not write {action} (it wrote {asked})"
    assert snapshot(app) == before, f"{name} changed something though its audit write failed"

    # Control: the same action with a working audit log changes the state and adds its entry.
    act(app, headers)
    after = snapshot(app)
    assert after != before
    assert len(after["audit_events"]) > len(before["audit_events"])
