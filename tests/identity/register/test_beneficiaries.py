"""beneficiaries.save: the register's one write path, audited, telling each replaced phone."""

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from identity import db
from identity.audit import chain
from identity.models import AuditEvent, Beneficiary
from identity.register import beneficiaries
from identity.register.beneficiaries import PHONE_CHANGED, Told, save
from tests.factories import FATIMA, NASSER, add_people, sms_sink

NEW_PHONE = "+96599887766"


def audit(app: Flask) -> list[tuple[str, str, str, dict[str, Any]]]:
    with app.app_context():
        events = db.session().scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(e.actor, e.action, e.subject, json.loads(e.details)) for e in events]


def test_save_audits_each_created_and_changed_record_and_tells_after_the_commit(
    any_app: Flask,
) -> None:
    add_people(any_app, FATIMA)
    moved = replace(FATIMA, phone=NEW_PHONE)
    with any_app.app_context():
        session = db.session()
        saved = save(session, [moved, NASSER], with_category=False, actor="cli")
        assert (saved.created, saved.updated, saved.unchanged) == (1, 1, 0)
        assert sms_sink(any_app).messages == []  # not before the commit
        session.commit()
    assert sms_sink(any_app).messages == [(FATIMA.phone, PHONE_CHANGED)]
    assert (saved.told.told, saved.told.failed) == (1, 0)
    assert sorted(audit(any_app)) == [
        ("cli", "beneficiary.create", chain.subject_for_civil_id(NASSER.civil_id),
         {"phone_changed": False, "status": "active"}),
        ("cli", "beneficiary.update", chain.subject_for_civil_id(FATIMA.civil_id),
         {"phone_changed": True, "status": "active"}),
    ]  # fmt: skip


@pytest.mark.parametrize("batch", [False, True], ids=["one record", "a batch"])
def test_a_rolled_back_save_tells_nobody_and_audits_nothing(app: Flask, batch: bool) -> None:
    add_people(app, FATIMA)
    records = [replace(FATIMA, phone=NEW_PHONE), *([NASSER] if batch else [])]
    with app.app_context():
        session = db.session()
        saved = save(session, records, with_category=False, actor="cli")
        session.rollback()
        session.commit()  # a later commit of the same session tells nobody either
    assert sms_sink(app).messages == []
    assert (saved.told.told, saved.told.failed) == (0, 0)
    assert audit(app) == []
    with app.app_context():
        assert db.session().scalars(select(Beneficiary.phone)).all() == [FATIMA.phone]


def test_an_unchanged_record_is_neither_written_nor_audited(app: Flask) -> None:
    add_people(app, FATIMA, NASSER)
    with app.app_context():
        saved = save(db.session(), [FATIMA, NASSER], with_category=False, actor="cli")
        db.session().commit()
    assert (saved.created, saved.updated, saved.unchanged) == (0, 0, 2)
    assert audit(app) == [] and sms_sink(app).messages == []


def test_a_gateway_failure_is_counted_and_the_change_stays(app: Flask) -> None:
    add_people(app, FATIMA, NASSER)
    sms_sink(app).fail_next = 1
    told = Told()
    records = [replace(FATIMA, phone=NEW_PHONE), replace(NASSER, phone="+96550000009")]
    with app.app_context():
        save(db.session(), records, with_category=False, actor="cli", told=told)
        db.session().commit()
    assert (told.told, told.failed) == (1, 1)
    with app.app_context():
        assert set(db.session().scalars(select(Beneficiary.phone))) == {NEW_PHONE, "+96550000009"}


def test_a_batch_meeting_a_row_a_concurrent_writer_just_created_updates_it(
    any_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch read FATIMA as new, then a PUT created her before its INSERT: no 500.

    Prevents the unique violation of a plain bulk INSERT; her row counts as an update, is
    audited as one, and the number the PUT had just written is told.
    """
    real_insert = beneficiaries._insert

    def insert_after_a_concurrent_put(session: Session) -> Any:
        with Session(db.get_db().engine) as other:
            now = datetime.now(UTC)
            other.add(Beneficiary(**vars(FATIMA), created_at=now, updated_at=now))
            other.commit()
        monkeypatch.setattr(beneficiaries, "_insert", real_insert)
        return real_insert(session)

    monkeypatch.setattr(beneficiaries, "_insert", insert_after_a_concurrent_put)
    with any_app.app_context():
        session = db.session()
        records = [replace(FATIMA, phone=NEW_PHONE), NASSER]
        saved = save(session, records, with_category=False, actor="cli")
        session.commit()
    assert (saved.created, saved.updated, saved.unchanged) == (1, 1, 0)
    assert sms_sink(any_app).messages == [(FATIMA.phone, PHONE_CHANGED)]
    actions = {subject: action for _actor, action, subject, _d in audit(any_app)}
    assert actions == {
        chain.subject_for_civil_id(FATIMA.civil_id): "beneficiary.update",
        chain.subject_for_civil_id(NASSER.civil_id): "beneficiary.create",
    }
    with any_app.app_context():
        assert chain.verify_chain(db.session()).ok
