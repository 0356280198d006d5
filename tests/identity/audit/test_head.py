"""The signed audit head: published, verifiable by anyone, and it exposes a rewritten log."""

import base64
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet, KeySetSerialization
from sqlalchemy import select, text

from identity import clock, db, signing
from identity.audit import chain
from identity.audit import head as audit_head
from identity.models import AuditEvent
from identity.store import StoreUnavailable, get_store

LOGGER = "hawiya.audit"


def append(app: Flask, count: int, start: int = 1) -> None:
    with app.app_context():
        for n in range(start, start + count):
            with db.transaction() as session:
                chain.record(session, "staff:alice", "key.rotate", f"item:{n}", {"n": n})


def published(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/audit/head")
    assert response.status_code == 200
    return cast(dict[str, Any], response.json)


def verify_against(app: Flask, *against: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--against", *against])
    return result.exit_code, result.output


def rewrite_whole_log(app: Flask, new_details: str) -> None:
    """Rewrite every row and recompute every hash from the start, as a forger with write access."""
    with app.app_context(), db.transaction() as session:
        previous = chain.GENESIS
        for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
            event.details = new_details
            event.prev_hash = previous
            event.hash = chain.compute_hash(
                previous, event.at, event.actor, event.action, event.subject, new_details
            )
            previous = event.hash
            session.flush()


def test_the_head_names_the_latest_entry_and_verifies_with_an_independent_library(
    any_app: Flask,
) -> None:
    append(any_app, 3)
    head = published(any_app.test_client())
    with any_app.app_context():
        assert (head["entry"], head["hash"]) == chain.head(db.session())
    keys = KeySet.import_key_set(
        cast(KeySetSerialization, any_app.test_client().get("/.well-known/jwks.json").json)
    )
    token = jose_jwt.decode(head["token"], keys, algorithms=["ES256"])
    assert token.header["typ"] == audit_head.TYP
    assert (token.claims["entry"], token.claims["hash"]) == (head["entry"], head["hash"])


def test_an_empty_log_publishes_the_genesis_and_any_later_log_extends_it(any_app: Flask) -> None:
    head = published(any_app.test_client())
    assert (head["entry"], head["hash"]) == (0, chain.GENESIS)
    append(any_app, 2)
    assert verify_against(any_app, head["token"])[0] == 0


def test_a_log_that_grew_since_the_head_still_holds_it(any_app: Flask) -> None:
    append(any_app, 3)
    token = published(any_app.test_client())["token"]
    append(any_app, 3, start=4)
    code, output = verify_against(any_app, token)
    assert code == 0, output
    assert "6 entries" in output and "still holds the published head" in output


def test_a_rewrite_of_the_whole_log_passes_the_chain_but_not_the_head(any_app: Flask) -> None:
    append(any_app, 4)
    token = published(any_app.test_client())["token"]
    rewrite_whole_log(any_app, '{"n":0}')
    plain = any_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert plain.exit_code == 0  # the chain alone cannot see it …
    code, output = verify_against(any_app, token)
    assert code == 1  # … the published head does
    assert "broken at entry 4" in output and "rewritten" in output


def test_a_log_cut_short_is_named_by_the_missing_head(any_app: Flask) -> None:
    append(any_app, 5)
    token = published(any_app.test_client())["token"]
    with any_app.app_context(), db.transaction() as session:
        session.execute(text("DELETE FROM audit_events WHERE id >= 4"))
    code, output = verify_against(any_app, token)
    assert code == 1
    assert "broken at entry 5" in output and "missing" in output


def test_an_edit_inside_the_chain_is_still_named_first(any_app: Flask) -> None:
    append(any_app, 3)
    token = published(any_app.test_client())["token"]
    with any_app.app_context(), db.transaction() as session:
        session.execute(text("UPDATE audit_events SET actor = 'staff:mallory' WHERE id = 2"))
    code, output = verify_against(any_app, token)
    assert code == 1 and "broken at entry 2" in output


def test_the_head_is_read_from_a_file_of_the_endpoint_json_or_the_bare_token(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    append(app, 2)
    head = published(client)
    as_json, bare = tmp_path / "head.json", tmp_path / "head.jws"
    as_json.write_text(json.dumps(head), encoding="utf-8")
    bare.write_text(head["token"] + "\n", encoding="utf-8")
    assert verify_against(app, str(as_json))[0] == 0
    assert verify_against(app, str(bare))[0] == 0


@pytest.mark.parametrize("tamper", ["flip-claim", "garbage", "json-without-token", "other-key"])
def test_a_head_that_is_not_ours_is_refused_with_a_clear_message(
    app: Flask, client: FlaskClient, tmp_path: Path, tamper: str
) -> None:
    append(app, 2)
    token = published(client)["token"]
    if tamper == "flip-claim":
        # Our signature over other claims: the entry moved back to 1.
        header, _payload, signature = token.split(".")
        claims = {"iss": "hawiya", "iat": 1, "entry": 1, "hash": "0" * 64}
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        argument = f"{header}.{payload}.{signature}"
    elif tamper == "garbage":
        argument = "not-a-token"
    elif tamper == "json-without-token":
        path = tmp_path / "head.json"
        path.write_text('{"entry": 1}', encoding="utf-8")
        argument = str(path)
    else:
        other = tmp_path / "other-keys"
        other.mkdir()
        signing.create_key(other)
        with app.app_context():
            claims = {"iss": "hawiya", "iat": 1, "entry": 2, "hash": "0" * 64}
            argument = signing.load_ring(other).sign(claims, audit_head.TYP)
    code, output = verify_against(app, argument)
    assert code == 1
    assert "Error:" in output and "Traceback" not in output
    assert "intact" not in output


def test_the_first_request_of_each_day_logs_the_head_once_across_instances(
    any_app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Two publishers sharing one store stand for two instances: one line per day between them."""
    append(any_app, 2)
    caplog.set_level(logging.INFO, logger=LOGGER)
    day_one, day_two = 1_795_000_000.0, 1_795_000_000.0 + 86_400
    with any_app.app_context():
        get_store().delete("audit-head:" + "2026-11-18")
    first, second = audit_head.DailyPublisher(), audit_head.DailyPublisher()
    for at in (day_one, day_two):
        monkeypatch.setattr(clock, "now", lambda at=at: datetime.fromtimestamp(at, UTC))
        with any_app.test_request_context("/"):
            for publisher in (first, second, first, second):
                publisher()
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(lines) == 2, lines
    with any_app.app_context():
        entry, digest = chain.head(db.session()) or (0, "")
    assert all(f"entry={entry} hash={digest}" in line for line in lines)
    token = lines[0].rsplit("token=", 1)[1]
    assert verify_against(any_app, token)[0] == 0


def test_a_real_request_writes_the_daily_line(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    client.get("/healthz")
    client.get("/healthz")
    assert sum("audit head:" in r.getMessage() for r in caplog.records) == 1


def test_a_store_outage_neither_fails_the_request_nor_loses_the_day(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.INFO, logger=LOGGER)
    with app.app_context():
        store = get_store()

    def down(*_args: object, **_kwargs: object) -> bool:
        raise StoreUnavailable("down")

    monkeypatch.setattr(type(store), "set", down)
    assert client.get("/api/v1/audit/head").status_code == 200
    assert not any("audit head:" in r.getMessage() for r in caplog.records)
    monkeypatch.undo()
    client.get("/healthz")
    assert sum("audit head:" in r.getMessage() for r in caplog.records) == 1


def test_without_a_signing_key_the_head_answers_503_in_the_error_shape(
    keyless_app: Flask,
) -> None:
    response = keyless_app.test_client().get("/api/v1/audit/head")
    assert response.status_code == 503
    assert response.json is not None and response.json["error"]["code"] == "unavailable"


def test_the_cli_prints_the_signed_head_alone_on_its_last_line(app: Flask) -> None:
    append(app, 3)
    result = app.test_cli_runner().invoke(args=["audit", "head"])
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    with app.app_context():
        claims = audit_head.read_head(token)
        assert (claims["entry"], claims["hash"]) == chain.head(db.session())
    assert verify_against(app, token)[0] == 0


def test_the_day_of_the_published_head_is_the_agencys_day(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """20:30 and 21:30 UTC are one UTC day but two days in Kuwait (23:30, then 00:30)."""
    append(app, 1)
    caplog.set_level(logging.INFO, logger=LOGGER)
    publisher = audit_head.DailyPublisher()
    for hour in (20, 21):
        at = datetime(2026, 12, 1, hour, 30, tzinfo=UTC)
        monkeypatch.setattr(clock, "now", lambda at=at: at)
        with app.test_request_context("/"):
            publisher()
    assert len([r for r in caplog.records if r.name == LOGGER]) == 2
    with app.app_context():
        assert get_store().get("audit-head:2026-12-02") is not None
