"""Concurrent changes: every status change is one compare-and-set, every upsert race-safe.

Two changes that read the same status race for it: exactly one wins, the other answers 409 and
changes nothing, and the audit's "from" is the status really replaced. The parallel tests send
real requests from threads, each with its own client and so its own app context and database
session, and hold every request at a barrier after it has read the row and before it writes,
so the race happens on every run (on SQLite and on PostgreSQL).
"""

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from identity import db
from identity.audit.chain import subject_for_civil_id
from identity.digital_id import credentials
from identity.documents import documents
from identity.models import AuditEvent, Beneficiary, Credential, Document
from identity.register.beneficiaries import find
from identity.web import backoffice
from tests.factories import FATIMA, add_people, backoffice_token, issue_ids, make_pdf, sms_sink

BODY = {
    "file_number": FATIMA.file_number,
    "full_name_ar": FATIMA.full_name_ar,
    "full_name_en": FATIMA.full_name_en,
    "phone": FATIMA.phone,
    "status": "active",
}


@pytest.fixture
def office(any_app: Flask) -> Iterator[tuple[Flask, dict[str, str]]]:
    """An app (each pair of backends) with Fatima, her digital ID and a back-office token."""
    add_people(any_app, FATIMA)
    issue_ids(any_app, FATIMA)
    yield any_app, {"Authorization": f"Bearer {backoffice_token(any_app)}"}


def credential_id(app: Flask) -> str:
    with app.app_context():
        return db.session().scalars(select(Credential.id)).one()


def set_status(app: Flask, action: str) -> None:
    """Change Fatima's digital ID from the control side (as a member of staff would)."""
    cid = credential_id(app)
    with app.app_context():
        session = db.session()
        credential = credentials.by_id(session, cid)
        assert credential is not None
        credentials.change_status(session, credential, action, "Set up the test", "test")
        session.commit()


def stored_status(app: Flask) -> str:
    with app.app_context():
        return db.session().scalars(select(Credential.status)).one()


def audit_details(app: Flask, action_prefix: str) -> list[tuple[str, dict[str, Any]]]:
    """The audit entries whose action starts with this prefix: (action, details), in order."""
    with app.app_context():
        rows = db.session().execute(
            select(AuditEvent.action, AuditEvent.details)
            .where(AuditEvent.action.startswith(action_prefix), AuditEvent.actor != "test")
            .order_by(AuditEvent.id)
        )
        return [(action, json.loads(details)) for action, details in rows]


def held_at_barrier(
    monkeypatch: pytest.MonkeyPatch, module: object, name: str, parties: int
) -> threading.Barrier:
    """Make `module.name` wait until `parties` requests have reached it (all have read the row)."""
    barrier = threading.Barrier(parties, timeout=30)
    original: Callable[..., Any] = getattr(module, name)

    def wait_then_call(*args: Any, **kwargs: Any) -> Any:
        barrier.wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wait_then_call)
    return barrier


def in_parallel(app: Flask, requests: list[tuple[str, str, dict[str, Any]]], headers) -> list:
    """Send each (method, path, json) from its own thread with its own client; the answers."""

    def send(method: str, path: str, body: dict[str, Any]):
        return app.test_client().open(path, method=method, json=body, headers=headers)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        futures = [pool.submit(send, *request) for request in requests]
        return [future.result(timeout=60) for future in futures]


def assert_error_shape(answer, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json == {"error": {"code": code, "message": answer.json["error"]["message"]}}


# --- credentials: the compare-and-set itself -------------------------------------------


@pytest.mark.parametrize("first, stale", [("revoke", "reinstate"), ("reinstate", "revoke")])
def test_a_change_decided_on_a_stale_status_is_refused_and_writes_nothing(
    office, first: str, stale: str
) -> None:
    """A change whose status was read before another change committed cannot overwrite it.

    Prevents the lost revocation: a reinstate that read "suspended" before a revoke committed
    used to set the ID back to active, and the audit showed both starting "from suspended".
    """
    app, _headers = office
    set_status(app, "suspend")
    cid = credential_id(app)
    with app.app_context():
        session = db.session()
        credential = credentials.by_id(session, cid)  # reads "suspended"
        assert credential is not None and credential.status == "suspended"
        with Session(db.get_db().engine) as other:  # another request, committing first
            racing = credentials.by_id(other, cid)
            assert racing is not None
            credentials.change_status(other, racing, first, "Committed first", "staff:other")
            other.commit()
        try:
            with pytest.raises(credentials.StatusRefused) as refused:
                credentials.change_status(session, credential, stale, "Stale status", "staff:me")
        finally:
            session.rollback()
    assert refused.value.conflict
    assert ("revoked" if first == "revoke" else "active") in refused.value.message
    assert stored_status(app) == ("revoked" if first == "revoke" else "active")
    changes = [(a, d["from"], d["to"]) for a, d in audit_details(app, "credential.")]
    assert changes == [
        (f"credential.{first}", "suspended", "revoked" if first == "revoke" else "active")
    ]


# --- credentials: real parallel requests ------------------------------------------------


def test_revoke_and_reinstate_of_a_suspended_id_in_parallel_one_wins(office, monkeypatch) -> None:
    """A revoke and a reinstate sent together on a suspended ID: one 200, one 409 in the error
    shape, the status is the winner's, and one audit entry says "from suspended".

    Prevents both answering 200 with whichever committed last winning (a revocation undone).
    """
    app, headers = office
    set_status(app, "suspend")
    held_at_barrier(monkeypatch, credentials, "change_status", 2)
    base = f"/api/v1/credentials/{credential_id(app)}"
    revoked, reinstated = in_parallel(
        app,
        [("POST", base + "/revoke", {"reason": "Reported stolen"}),
         ("POST", base + "/reinstate", {"reason": "Review closed"})],
        headers,
    )  # fmt: skip
    assert sorted([revoked.status_code, reinstated.status_code]) == [200, 409]
    winner, loser = (revoked, reinstated) if revoked.status_code == 200 else (reinstated, revoked)
    assert_error_shape(loser, 409, "conflict")
    assert stored_status(app) == winner.json["status"]
    if revoked.status_code == 200:
        assert stored_status(app) == "revoked"
    changes = [(d["from"], d["to"]) for _a, d in audit_details(app, "credential.")]
    assert changes == [("suspended", winner.json["status"])]


def test_two_identical_revokes_in_parallel_one_200_one_409_one_audit_entry(
    office, monkeypatch
) -> None:
    """Two identical revokes at once: one 200, one 409, and exactly one audit entry.

    Prevents a double revoke both answering 200 and writing two entries "from active".
    """
    app, headers = office
    held_at_barrier(monkeypatch, credentials, "change_status", 2)
    path = f"/api/v1/credentials/{credential_id(app)}/revoke"
    answers = in_parallel(app, [("POST", path, {"reason": "Reported stolen"})] * 2, headers)
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert_error_shape(next(a for a in answers if a.status_code == 409), 409, "conflict")
    assert stored_status(app) == "revoked"
    assert [(a, d["from"]) for a, d in audit_details(app, "credential.")] == [
        ("credential.revoke", "active")
    ]


# --- documents ------------------------------------------------------------------------


def issue_documents(app: Flask, count: int) -> list[int]:
    """Issue Fatima `count` stamped letters; return their ids."""
    with app.app_context():
        session = db.session()
        person = find(session, FATIMA.civil_id)
        assert person is not None
        ids = [
            documents.issue(
                session, make_pdf(1), person, "letter", "Letter", "Main office", "test"
            ).document.id
            for _ in range(count)
        ]
        session.commit()
        return ids


def document_statuses(app: Flask) -> dict[int, str]:
    with app.app_context():
        return {
            row.id: row.status for row in db.session().execute(select(Document.id, Document.status))
        }


def test_revoke_and_supersede_of_a_document_in_parallel_one_wins(office, monkeypatch) -> None:
    """A revoke and a supersede of one document at once: one 200, one 409, one audit entry.

    Prevents both answering 200 and the later commit overwriting the earlier (a revoked
    document turned "superseded", or a supersede lost).
    """
    app, headers = office
    old, new = issue_documents(app, 2)
    held_at_barrier(monkeypatch, documents, "_reason", 2)  # both have read the document
    revoked, superseded = in_parallel(
        app,
        [("POST", f"/api/v1/documents/{old}/revoke", {"reason": "Issued in error"}),
         ("POST", f"/api/v1/documents/{old}/supersede", {"by": new, "reason": "Corrected"})],
        headers,
    )  # fmt: skip
    assert sorted([revoked.status_code, superseded.status_code]) == [200, 409]
    winner, loser = (revoked, superseded) if revoked.status_code == 200 else (superseded, revoked)
    assert_error_shape(loser, 409, "conflict")
    assert document_statuses(app) == {old: winner.json["status"], new: "valid"}
    action = {"revoked": "document.revoke", "superseded": "document.supersede"}
    changes = [(a, d["from"], d["to"]) for a, d in audit_details(app, "document.")]
    assert changes == [(action[winner.json["status"]], "valid", winner.json["status"])]


def test_a_supersede_by_a_document_revoked_meanwhile_is_refused(office) -> None:
    """A supersede decided while its replacement was valid is refused once that is revoked.

    Prevents a document pointing, as "superseded by", at a replacement that is not in force.
    """
    app, _headers = office
    old, new = issue_documents(app, 2)
    with app.app_context():
        session = db.session()
        document, replacement = session.get(Document, old), session.get(Document, new)
        assert document is not None and replacement is not None
        with Session(db.get_db().engine) as other:
            racing = other.get(Document, new)
            assert racing is not None
            documents.revoke(other, racing, "Issued in error", "staff:other")
            other.commit()
        try:
            with pytest.raises(documents.InvalidDocument) as refused:
                documents.supersede(session, document, replacement, "Corrected", "staff:me")
        finally:
            session.rollback()
    assert refused.value.code == "conflict"
    assert document_statuses(app) == {old: "valid", new: "revoked"}


# --- the register upsert ----------------------------------------------------------------

NEW_PERSON = "/api/v1/beneficiaries/288020122596"


@pytest.fixture
def empty_office(any_app: Flask) -> tuple[Flask, dict[str, str]]:
    """An app (each pair of backends) with an empty register and a back-office token."""
    return any_app, {"Authorization": f"Bearer {backoffice_token(any_app)}"}


def test_four_parallel_puts_of_a_new_civil_id_give_one_201_and_three_200(
    empty_office, monkeypatch
) -> None:
    """Four PUTs of one new civil ID at once: one creates it (201), three find it (200).

    Prevents three 500s from the unique violation of inserting the same civil ID four times.
    """
    app, headers = empty_office
    held_at_barrier(monkeypatch, backoffice, "validate", 4)
    answers = in_parallel(app, [("PUT", NEW_PERSON, BODY)] * 4, headers)
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201], [a.text for a in answers]
    assert all(a.json["civil_id"] == FATIMA.civil_id for a in answers)
    with app.app_context():
        assert db.session().scalar(select(func.count(Beneficiary.id))) == 1
        created = (
            db.session()
            .scalars(
                select(AuditEvent.action).where(
                    AuditEvent.subject == subject_for_civil_id(FATIMA.civil_id)
                )
            )
            .all()
        )
    assert created == ["beneficiary.create"]


def test_parallel_phone_changes_tell_each_number_that_was_really_replaced(
    empty_office, monkeypatch
) -> None:
    """Three PUTs at once, each giving a new phone: the numbers told are the ones replaced.

    Each update reads the number on record under a lock, so the chain of changes is told once
    per replaced number, never a number that was not on record.
    """
    app, headers = empty_office
    add_people(app, FATIMA)
    phones = ["+96550000001", "+96550000002", "+96550000003"]
    held_at_barrier(monkeypatch, backoffice, "validate", 3)
    answers = in_parallel(app, [("PUT", NEW_PERSON, {**BODY, "phone": p}) for p in phones], headers)
    assert [a.status_code for a in answers] == [200, 200, 200]
    with app.app_context():
        final = db.session().scalars(select(Beneficiary.phone)).one()
    told = sorted(to for to, _text in sms_sink(app).messages)
    assert told == sorted({FATIMA.phone, *phones} - {final})
    flags = [d["phone_changed"] for _a, d in audit_details(app, "beneficiary.update")]
    assert flags == [True, True, True]


# --- the supersede's `by` -----------------------------------------------------------------


@pytest.mark.parametrize(
    "by",
    ["²", "١²", "٣", "1\u200b", " 1", "0", "-1", 0, -1, 2**31, 2**63, "9" * 20, 10**30, True, 1.0],
)
def test_a_replacing_id_that_is_not_a_sane_ascii_integer_is_400(office, by) -> None:
    """`by` other than ASCII digits or an integer in 1..2^31-1 (int4 ids): 400 in the error shape.

    Prevents the 500 from `"²".isdigit()` passing and `int("²")` failing, and integers past
    what an id column holds (2^31 on PostgreSQL) reaching the database.
    """
    app, headers = office
    old, _new = issue_documents(app, 2)
    answer = app.test_client().post(
        f"/api/v1/documents/{old}/supersede", json={"by": by, "reason": "Corrected"},
        headers=headers,
    )  # fmt: skip
    assert_error_shape(answer, 400, "invalid-input")
    assert set(document_statuses(app).values()) == {"valid"}


@pytest.mark.parametrize("spelling", [int, str])
def test_a_replacing_id_as_integer_or_ascii_digits_is_followed(office, spelling) -> None:
    app, headers = office
    old, new = issue_documents(app, 2)
    answer = app.test_client().post(
        f"/api/v1/documents/{old}/supersede", json={"by": spelling(new), "reason": "Corrected"},
        headers=headers,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json["superseded_by"] == new


@pytest.mark.parametrize("length", [64, 65, 200])
def test_a_reason_as_long_as_validation_allows_is_stored(office, length: int) -> None:
    """Prevents the 500 a 65-200 character reason gave on PostgreSQL (the column held 64)."""
    app, headers = office
    reason = ("Letter of the housing committee " * 10)[:length]
    answer = app.test_client().post(
        f"/api/v1/credentials/{credential_id(app)}/suspend",
        json={"reason": reason},
        headers=headers,
    )
    assert answer.status_code == 200, answer.get_json()
    with app.app_context():
        assert db.session().scalars(select(Credential.reason)).one() == reason.strip()
