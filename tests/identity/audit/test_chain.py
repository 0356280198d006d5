"""The audit log: every append links to the one before, and tampering is found and named."""

import hashlib
import json
import threading
from datetime import UTC, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import DateTime, bindparam, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from identity import db
from identity.audit import chain
from identity.models import AuditEvent, Beneficiary

FATIMA_CIVIL_ID = "288020122596"


def append(app: Flask, count: int, start: int = 1) -> None:
    """Append `count` events, each in its own committed transaction."""
    with app.app_context():
        for n in range(start, start + count):
            with db.transaction() as session:
                chain.record(session, "staff:alice", "key.rotate", f"item:{n}", {"n": n})


def rows(app: Flask) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session().scalars(select(AuditEvent).order_by(AuditEvent.id)))


def count_events(app: Flask) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(AuditEvent)) or 0


def execute(app: Flask, sql: str, **params: Any) -> None:
    """Change the table behind the service's back, as someone with database access could."""
    with app.app_context(), db.transaction() as session:
        session.execute(text(sql), params)


def verify(app: Flask) -> chain.VerifyResult:
    with app.app_context():
        return chain.verify_chain(db.session())


def head(app: Flask) -> tuple[int, str] | None:
    with app.app_context():
        return chain.head(db.session())


def cli(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def fatima() -> Beneficiary:
    return Beneficiary(
        civil_id=FATIMA_CIVIL_ID,
        file_number="004512",
        full_name_ar="فاطمة محمد الكندري",
        full_name_en="Fatima Mohammed Al-Kandari",
        phone="+96551234567",
        status="active",
    )


# Appending


def test_each_event_links_to_the_one_before(any_app: Flask) -> None:
    append(any_app, 3)
    first, second, third = rows(any_app)
    assert first.prev_hash == chain.GENESIS == "0" * 64
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert len({first.hash, second.hash, third.hash}) == 3
    assert verify(any_app) == chain.VerifyResult(ok=True, checked=3)
    assert head(any_app) == (third.id, third.hash)


def test_the_hash_covers_the_previous_hash_and_every_field(any_app: Flask) -> None:
    """Pin the documented definition, so a verifier outside this code can recompute it."""
    with any_app.app_context(), db.transaction() as session:
        details = {"reason": "طلب المستفيد", "b": [1, 2], "a": None}
        chain.record(session, "staff:alice", "credential.revoke", "credential:abc", details)
    (event,) = rows(any_app)
    assert event.details == '{"a":null,"b":[1,2],"reason":"طلب المستفيد"}'
    at = event.at.replace(tzinfo=event.at.tzinfo or UTC).astimezone(UTC)
    payload = json.dumps(
        [at.isoformat(timespec="microseconds"), "staff:alice", "credential.revoke",
         "credential:abc", event.details],
        separators=(",", ":"), ensure_ascii=False,
    )  # fmt: skip
    assert at.isoformat(timespec="microseconds").endswith("+00:00")
    expected = hashlib.sha256(f"{chain.GENESIS}\n{payload}".encode()).hexdigest()
    assert event.hash == expected


def test_times_are_hashed_in_utc_whatever_the_session_time_zone(any_app: Flask) -> None:
    """PostgreSQL returns timestamptz in the session's zone; the hash must not depend on it."""
    with any_app.app_context(), db.transaction() as session:
        if session.connection().dialect.name == "postgresql":
            session.execute(text("SET LOCAL TIME ZONE 'Asia/Kuwait'"))
        for n in range(3):
            chain.record(session, "staff:alice", "key.rotate", f"item:{n}")
        assert chain.verify_chain(session) == chain.VerifyResult(ok=True, checked=3)


def test_an_empty_log_has_no_head_and_verifies(any_app: Flask) -> None:
    assert head(any_app) is None
    assert verify(any_app) == chain.VerifyResult(ok=True, checked=0)


# One transaction with the change it records


def test_record_does_not_commit_for_the_caller(any_app: Flask) -> None:
    with any_app.app_context():
        engine = db.get_db().engine
        with Session(engine) as writer:
            chain.record(writer, "staff:alice", "key.rotate", "item:1")
            with Session(engine) as reader:
                assert reader.scalar(select(func.count()).select_from(AuditEvent)) == 0
            writer.commit()
    assert count_events(any_app) == 1


def test_a_rolled_back_change_leaves_no_audit_row(any_app: Flask) -> None:
    with pytest.raises(RuntimeError), any_app.app_context(), db.transaction() as session:
        session.add(fatima())
        subject = chain.subject_for_civil_id(FATIMA_CIVIL_ID)
        chain.record(session, "staff:alice", "beneficiary.create", subject)
        raise RuntimeError("the change failed after the event was recorded")
    assert count_events(any_app) == 0
    with any_app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Beneficiary)) == 0


def test_a_change_the_database_refuses_takes_its_audit_row_with_it(any_app: Flask) -> None:
    with any_app.app_context(), db.transaction() as session:
        session.add(fatima())
    with pytest.raises(IntegrityError), any_app.app_context(), db.transaction() as session:
        chain.record(session, "staff:alice", "beneficiary.create", "beneficiary:********2596")
        session.add(fatima())  # the same civil ID again
        session.flush()
    assert count_events(any_app) == 0
    append(any_app, 1)
    assert rows(any_app)[0].prev_hash == chain.GENESIS


# Tampering


def test_an_edited_field_is_named(any_app: Flask) -> None:
    append(any_app, 5)
    execute(any_app, "UPDATE audit_events SET actor = 'staff:mallory' WHERE id = 3")
    result = verify(any_app)
    assert (result.ok, result.checked, result.first_broken_id) == (False, 2, 3)
    assert "edited" in (result.reason or "")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("action", "test.other"),
        ("subject", "item:99"),
        ("details", '{"n": 3}'),  # the same JSON, spaced differently
        ("details", '{"n":4}'),
    ],
)
def test_an_edit_to_any_covered_column_is_named(any_app: Flask, column: str, value: str) -> None:
    append(any_app, 5)
    execute(any_app, f"UPDATE audit_events SET {column} = :value WHERE id = 3", value=value)
    assert verify(any_app).first_broken_id == 3


def test_an_edited_time_is_named(any_app: Flask) -> None:
    append(any_app, 5)
    moved = rows(any_app)[2].at - timedelta(microseconds=1)
    with any_app.app_context(), db.transaction() as session:
        statement = text("UPDATE audit_events SET at = :at WHERE id = 3").bindparams(
            bindparam("at", type_=DateTime(timezone=True))
        )
        session.execute(statement, {"at": moved})
    assert verify(any_app).first_broken_id == 3


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(any_app: Flask) -> None:
    """A forger who rehashes the row they edit is caught by the row after it."""
    append(any_app, 5)
    third = rows(any_app)[2]
    forged = chain.compute_hash(
        third.prev_hash, third.at, "staff:mallory", third.action, third.subject, third.details
    )
    execute(
        any_app,
        "UPDATE audit_events SET actor = 'staff:mallory', hash = :hash WHERE id = 3",
        hash=forged,
    )
    result = verify(any_app)
    assert (result.ok, result.checked, result.first_broken_id) == (False, 3, 4)
    assert "entry 3" in (result.reason or "")


def test_verify_streams_the_log_in_batches(any_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """A break after the first batch is still found: the walk carries the link across batches."""
    monkeypatch.setattr(chain, "VERIFY_BATCH", 2)
    append(any_app, 7)
    assert verify(any_app) == chain.VerifyResult(ok=True, checked=7)
    execute(any_app, "DELETE FROM audit_events WHERE id = 5")
    assert verify(any_app).first_broken_id == 6


def test_a_deleted_middle_row_is_named_by_the_row_after_it(any_app: Flask) -> None:
    append(any_app, 5)
    execute(any_app, "DELETE FROM audit_events WHERE id = 3")
    result = verify(any_app)
    assert (result.ok, result.checked, result.first_broken_id) == (False, 2, 4)
    assert "entry 2" in (result.reason or "")


def test_a_deleted_first_row_is_named_by_the_row_after_it(any_app: Flask) -> None:
    append(any_app, 3)
    execute(any_app, "DELETE FROM audit_events WHERE id = 1")
    result = verify(any_app)
    assert (result.ok, result.first_broken_id) == (False, 2)


def test_a_deleted_last_row_is_not_visible_in_the_chain_alone(any_app: Flask) -> None:
    """Truncating the tail leaves a shorter, intact chain: verify_chain says ok.

    This is a known limit of any hash chain. What catches it is the head: `head()` changes,
    so comparing it with a head published (and signed) earlier shows the missing rows.
    """
    append(any_app, 5)
    published = head(any_app)
    execute(any_app, "DELETE FROM audit_events WHERE id = 5")
    assert verify(any_app) == chain.VerifyResult(ok=True, checked=4)
    assert head(any_app) != published
    assert head(any_app) == (4, rows(any_app)[3].hash)


def test_swapped_rows_are_named(any_app: Flask) -> None:
    append(any_app, 5)
    execute(any_app, "UPDATE audit_events SET id = -1 WHERE id = 2")
    execute(any_app, "UPDATE audit_events SET id = 2 WHERE id = 3")
    execute(any_app, "UPDATE audit_events SET id = 3 WHERE id = -1")
    result = verify(any_app)
    assert (result.ok, result.checked, result.first_broken_id) == (False, 1, 2)


@pytest.mark.parametrize(("rehashed", "broken_id"), [(True, 30), (False, 25)])
def test_an_inserted_forged_row_is_caught(any_app: Flask, rehashed: bool, broken_id: int) -> None:
    """A forged row between two real ones breaks the chain.

    If the forger computed a valid hash linked to the row before, the forged row itself looks
    fine and the break shows at the real row after it, whose reason names the forged entry.
    """
    append(any_app, 5)
    execute(any_app, "UPDATE audit_events SET id = id * 10")  # make room between 20 and 30
    second = rows(any_app)[1]
    details = '{"n":99}'
    forged_hash = (
        chain.compute_hash(second.hash, second.at, "staff:alice", "key.rotate", "item:x", details)
        if rehashed
        else "f" * 64
    )
    execute(
        any_app,
        "INSERT INTO audit_events (id, at, actor, action, subject, details, prev_hash, hash)"
        " SELECT 25, at, 'staff:alice', 'key.rotate', 'item:x', :details, hash, :hash"
        " FROM audit_events WHERE id = 20",
        details=details,
        hash=forged_hash,
    )
    result = verify(any_app)
    assert (result.ok, result.first_broken_id) == (False, broken_id)
    if rehashed:
        assert "entry 25" in (result.reason or "")


# The command line


def test_cli_verify_reports_an_intact_chain(any_app: Flask) -> None:
    append(any_app, 4)
    result = cli(any_app).invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "Audit chain intact: 4 entries." in result.output


def test_cli_verify_exits_1_and_names_the_broken_entry(any_app: Flask) -> None:
    append(any_app, 4)
    execute(any_app, "UPDATE audit_events SET subject = 'item:0' WHERE id = 2")
    result = cli(any_app).invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "Audit chain broken at entry 2:" in result.output


# No secrets in the log


@pytest.mark.parametrize(
    "key",
    [
        "otp", "OTP", "code", "otp_code", "otpCode", "api_key", "apiKey", "api-key", "apikey",
        "key", "password", "new_password", "token", "access_token", "secret", "client_secret",
        "session", "session_id", "sessionId", "sessionid", "totp_secret", "pin",
    ],
)  # fmt: skip
def test_a_detail_key_naming_a_secret_is_refused(app: Flask, key: str) -> None:
    with app.app_context(), db.transaction() as session:
        with pytest.raises(ValueError, match="secret"):
            chain.record(session, "staff:alice", "key.rotate", "item:1", {key: "x"})
        with pytest.raises(ValueError, match="secret"):
            chain.record(session, "staff:alice", "key.rotate", "item:1", {"sms": {key: "x"}})
    assert count_events(app) == 0


@pytest.mark.parametrize("key", ["reason", "kid", "key_id", "status", "purpose", "possession"])
def test_ordinary_detail_keys_are_kept(app: Flask, key: str) -> None:
    with app.app_context(), db.transaction() as session:
        chain.record(session, "staff:alice", "key.rotate", "item:1", {key: "x"})
    assert json.loads(rows(app)[0].details) == {key: "x"}


FULL_CIVIL_IDS = [
    FATIMA_CIVIL_ID,
    " 288020122596 ",
    "٢٨٨٠٢٠١٢٢٥٩٦",  # Arabic-Indic digits
    "beneficiary:288020122596",
]


@pytest.mark.parametrize("value", FULL_CIVIL_IDS)
def test_a_full_civil_id_as_subject_or_actor_is_refused(app: Flask, value: str) -> None:
    with app.app_context(), db.transaction() as session:
        with pytest.raises(ValueError, match="civil ID"):
            chain.record(session, "staff:alice", "beneficiary.update", value)
        with pytest.raises(ValueError, match="civil ID"):
            chain.record(session, value, "beneficiary.update", "item:1")
    assert count_events(app) == 0


@pytest.mark.parametrize(
    "details",
    [{"civil_id": v} for v in FULL_CIVIL_IDS]
    + [
        {"civil_id": 288020122596},
        {"ids": ["x", FATIMA_CIVIL_ID]},
        {"row": {"cid": "288020122596"}},
    ],
)
def test_a_full_civil_id_in_the_details_is_refused(app: Flask, details: dict[str, Any]) -> None:
    with (
        app.app_context(),
        db.transaction() as session,
        pytest.raises(ValueError, match="civil ID"),
    ):
        chain.record(session, "staff:alice", "beneficiary.update", "item:1", details)
    assert count_events(app) == 0


def test_masked_civil_ids_phones_and_digests_are_kept(app: Flask) -> None:
    subject = chain.subject_for_civil_id(FATIMA_CIVIL_ID)
    assert subject == "beneficiary:********2596"
    details = {
        "civil_id": "********2596",
        "phone": "+966512345678",  # 12 digits after the "+": a phone number, not a civil ID
        "sha256": "123456789012" + "a" * 52,
        "file_number": "004512",
    }
    with app.app_context(), db.transaction() as session:
        chain.record(session, "staff:alice", "beneficiary.update", subject, details)
    assert rows(app)[0].subject == "beneficiary:********2596"


# Concurrency


def test_concurrent_appends_keep_one_chain(any_app: Flask) -> None:
    """8 writers × 10 appends at once: every append links to the one committed before it."""
    threads, per_thread = 8, 10
    with any_app.app_context():
        engine = db.get_db().engine
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            start.wait()
            for n in range(per_thread):
                with Session(engine) as session, session.begin():
                    chain.record(session, f"thread:{number}", "key.rotate", f"item:{n}")
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    events = rows(any_app)
    assert len(events) == threads * per_thread
    assert len({event.prev_hash for event in events}) == threads * per_thread  # no fork
    assert verify(any_app) == chain.VerifyResult(ok=True, checked=threads * per_thread)


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Letter 202612010001", "Letter ********0001"),
        ("٢٠٢٦١٢٠١٠٠٠١ and 288020122596.", "********0001 and ********2596."),
        ("ref ١٢٣ of 2026", "ref ١٢٣ of 2026"),
        ("2026120100019 is 13 digits", "2026120100019 is 13 digits"),
        ("+965202612010001", "+965202612010001"),
    ],
)
def test_mask_civil_ids_masks_only_what_looks_like_a_civil_id(typed: str, kept: str) -> None:
    assert chain.mask_civil_ids(typed) == kept


def test_a_civil_id_typed_into_a_reason_is_masked_not_refused(any_app: Flask) -> None:
    """Prevents the guard from refusing (500) a change whose reason cites a 12-digit number."""
    with any_app.app_context(), db.transaction() as session:
        chain.record(session, "staff:alice", "credential.revoke", "credential:x",
                     {"reason": "Letter 202612010001", "to": "revoked"})  # fmt: skip
    [event] = rows(any_app)
    assert json.loads(event.details) == {"reason": "Letter ********0001", "to": "revoked"}
    with any_app.app_context(), db.transaction() as session, pytest.raises(ValueError):
        chain.record(session, "staff:alice", "test", "item:1", {"note": "202612010001"})


# Appending a batch


def entries(start: int, count: int) -> list[chain.Entry]:
    return [
        chain.Entry("cli", "beneficiary.update", f"item:{n}", {"n": n})
        for n in range(start, start + count)
    ]


def test_a_batch_links_like_single_appends_around_it(any_app: Flask) -> None:
    """record, record_many, record, record_many: one chain, in order, that verifies."""
    append(any_app, 2)
    with any_app.app_context(), db.transaction() as session:
        chain.record_many(session, entries(3, 4))
    append(any_app, 1, start=7)
    with any_app.app_context(), db.transaction() as session:
        chain.record_many(session, entries(8, 3))
        chain.record(session, "staff:alice", "key.rotate", "item:11", {"n": 11})
    events = rows(any_app)
    assert [json.loads(e.details)["n"] for e in events] == list(range(1, 12))
    assert [e.prev_hash for e in events] == [chain.GENESIS, *(e.hash for e in events[:-1])]
    assert verify(any_app) == chain.VerifyResult(ok=True, checked=11)
    assert head(any_app) == (events[-1].id, events[-1].hash)


def test_a_batch_is_hashed_by_the_documented_rule(any_app: Flask) -> None:
    with any_app.app_context(), db.transaction() as session:
        chain.record_many(session, entries(1, 2))
    first, second = rows(any_app)
    for event, prev in ((first, chain.GENESIS), (second, first.hash)):
        recomputed = chain.compute_hash(
            prev, event.at, event.actor, event.action, event.subject, event.details
        )
        assert (event.prev_hash, event.hash) == (prev, recomputed)


def test_an_empty_batch_appends_nothing(any_app: Flask) -> None:
    with any_app.app_context(), db.transaction() as session:
        chain.record_many(session, [])
    assert count_events(any_app) == 0


def test_a_tampered_row_inside_a_batch_is_found(any_app: Flask) -> None:
    append(any_app, 1)
    with any_app.app_context(), db.transaction() as session:
        chain.record_many(session, entries(2, 5))
    execute(any_app, "UPDATE audit_events SET details = :details WHERE id = 4", details='{"n":99}')
    result = verify(any_app)
    assert (result.ok, result.checked, result.first_broken_id) == (False, 3, 4)
    assert "edited" in (result.reason or "")


def test_a_row_deleted_inside_a_batch_is_found(any_app: Flask) -> None:
    with any_app.app_context(), db.transaction() as session:
        chain.record_many(session, entries(1, 5))
    execute(any_app, "DELETE FROM audit_events WHERE id = 3")
    result = verify(any_app)
    assert (result.ok, result.first_broken_id) == (False, 4)


@pytest.mark.parametrize(
    "bad",
    [
        chain.Entry("cli", "beneficiary.update", "item:x", {"otp": "123456"}),
        chain.Entry("cli", "beneficiary.update", "beneficiary:288020122596"),
        chain.Entry("cli", "", "item:x"),
    ],
)
def test_one_refused_entry_refuses_the_whole_batch(app: Flask, bad: chain.Entry) -> None:
    """record_many checks each entry as record does, before it writes any of them."""
    with app.app_context(), db.transaction() as session, pytest.raises(ValueError):
        chain.record_many(session, [*entries(1, 2), bad])
    assert count_events(app) == 0
