"""Sign-in by SMS code through the holder API: every rule of DESIGN.md's security section."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from sqlalchemy import func, select

from identity import db
from identity.models import Account, AuditEvent
from identity.signin import otp
from identity.store import get_store
from tests.factories import (
    FATIMA,
    NASSER,
    UNKNOWN_CIVIL_ID,
    add_people,
    api_sign_in,
    api_start,
    api_verify,
    sent_codes,
    sms_sink,
    use_fake_clock,
)


@pytest.fixture
def people(app: Flask) -> Flask:
    add_people(app, FATIMA, NASSER)
    return app


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def accounts(app: Flask) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(Account)) or 0


def test_sign_in_sends_a_code_to_the_number_on_record_and_gives_a_token(people: Flask) -> None:
    client = people.test_client()
    started = api_start(client, FATIMA.civil_id, FATIMA.file_number)
    assert started.status_code == 202
    [code] = sent_codes(people, FATIMA.phone)
    assert len(code) == 6
    [(to, text)] = sms_sink(people).messages
    assert to == FATIMA.phone and "هوية" in text and "Hawiya" in text
    verified = api_verify(client, started.json["txn"], code)
    assert verified.status_code == 200
    assert set(verified.json) == {"access_token", "expires_in"}
    assert verified.json["expires_in"] == 900
    assert accounts(people) == 1


def test_the_first_sign_in_creates_the_account_and_later_ones_reuse_it(people: Flask) -> None:
    api_sign_in(people)
    with people.app_context():
        get_store().delete(f"otp:cool:{FATIMA.civil_id}")
    api_sign_in(people)
    assert accounts(people) == 1


@pytest.mark.parametrize(
    ("civil_id", "file_number"),
    [
        (FATIMA.civil_id, "999999"),  # wrong file number
        (UNKNOWN_CIVIL_ID, "004512"),  # no such person
    ],
)
def test_no_enumeration_start_answers_the_same(
    people: Flask, civil_id: str, file_number: str
) -> None:
    """Prevents telling from the answer whether a civil ID exists or a file number matches."""
    client = people.test_client()
    real = api_start(client, FATIMA.civil_id, FATIMA.file_number)
    with people.app_context():
        get_store().delete(f"otp:cool:{FATIMA.civil_id}")
    other = api_start(client, civil_id, file_number)
    assert (real.status_code, other.status_code) == (202, 202)
    assert set(real.json) == set(other.json) == {"txn"}
    assert len(real.json["txn"]) == len(other.json["txn"])
    ignore = {"Date", "Content-Length"}
    assert {k: v for k, v in real.headers if k not in ignore} == {
        k: v for k, v in other.headers if k not in ignore
    }
    assert "Set-Cookie" not in real.headers
    assert len(sent_codes(people, FATIMA.phone)) == 1


@pytest.mark.parametrize("civil_id", [FATIMA.civil_id, UNKNOWN_CIVIL_ID])
def test_no_enumeration_a_non_matching_txn_behaves_like_a_wrong_code(
    people: Flask, civil_id: str
) -> None:
    client = people.test_client()
    txn = api_start(client, civil_id, "111111").json["txn"]
    answers = [api_verify(client, txn, f"{n:06d}") for n in range(1, 6)]
    assert [a.json["error"]["code"] for a in answers] == ["code-invalid"] * 4 + ["code-expired"]
    assert all(a.status_code == 400 for a in answers)


def test_a_code_works_once(people: Flask) -> None:
    client = people.test_client()
    txn = api_start(client, FATIMA.civil_id, FATIMA.file_number).json["txn"]
    [code] = sent_codes(people, FATIMA.phone)
    assert api_verify(client, txn, code).status_code == 200
    again = api_verify(client, txn, code)
    assert again.status_code == 400
    assert again.json["error"]["code"] == "code-expired"


def test_five_tries_per_code_then_even_the_right_code_is_refused(people: Flask) -> None:
    client = people.test_client()
    txn = api_start(client, FATIMA.civil_id, FATIMA.file_number).json["txn"]
    [code] = sent_codes(people, FATIMA.phone)
    codes = [api_verify(client, txn, wrong(code)).json["error"]["code"] for _ in range(5)]
    assert codes == ["code-invalid"] * 4 + ["code-expired"]
    assert api_verify(client, txn, code).json["error"]["code"] == "code-expired"


def test_a_code_expires_after_300_seconds(people: Flask) -> None:
    clock = use_fake_clock(people)
    client = people.test_client()
    txn = api_start(client, FATIMA.civil_id, FATIMA.file_number).json["txn"]
    [code] = sent_codes(people, FATIMA.phone)
    clock.advance(301)
    assert api_verify(client, txn, code).json["error"]["code"] == "code-expired"


def test_the_code_is_stored_hashed(people: Flask) -> None:
    clock = use_fake_clock(people)
    api_start(people.test_client(), FATIMA.civil_id, FATIMA.file_number)
    [code] = sent_codes(people, FATIMA.phone)
    assert clock.now  # the store is the in-process one on the fake clock
    entries = people.extensions["hawiya.store"]._entries
    assert all(code not in value for value, _expiry in entries.values())


def test_ten_failures_in_a_row_lock_even_the_right_code_for_15_minutes(people: Flask) -> None:
    clock = use_fake_clock(people)
    client = people.test_client()
    for _round in range(2):
        txn = api_start(client, FATIMA.civil_id, FATIMA.file_number).json["txn"]
        code = sent_codes(people, FATIMA.phone)[-1]
        answers = [api_verify(client, txn, wrong(code)) for _ in range(5)]
        clock.advance(61)
    assert answers[-1].status_code == 429
    assert answers[-1].json["error"]["code"] == "account-locked"
    assert answers[-1].headers["Retry-After"] == "900"
    txn = api_start(client, FATIMA.civil_id, FATIMA.file_number).json["txn"]
    code = sent_codes(people, FATIMA.phone)[-1]
    locked = api_verify(client, txn, code)
    assert locked.status_code == 429 and locked.json["error"]["code"] == "account-locked"
    clock.advance(15 * 60)
    txn = api_start(client, FATIMA.civil_id, FATIMA.file_number).json["txn"]
    assert api_verify(client, txn, sent_codes(people, FATIMA.phone)[-1]).status_code == 200


def test_a_success_resets_the_run_of_failures(people: Flask) -> None:
    clock = use_fake_clock(people)
    client = people.test_client()
    for _ in range(3):
        txn = api_start(client, FATIMA.civil_id, FATIMA.file_number).json["txn"]
        code = sent_codes(people, FATIMA.phone)[-1]
        for _ in range(4):
            api_verify(client, txn, wrong(code))
        assert api_verify(client, txn, code).status_code == 200
        clock.advance(61)


def test_resend_waits_60_seconds_and_a_new_code_replaces_the_old(people: Flask) -> None:
    clock = use_fake_clock(people)
    client = people.test_client()
    first_txn = api_start(client, FATIMA.civil_id, FATIMA.file_number).json["txn"]
    api_start(client, FATIMA.civil_id, FATIMA.file_number)
    assert len(sent_codes(people, FATIMA.phone)) == 1
    clock.advance(60)
    second_txn = api_start(client, FATIMA.civil_id, FATIMA.file_number).json["txn"]
    old, new = sent_codes(people, FATIMA.phone)
    assert api_verify(client, first_txn, old).json["error"]["code"] in {"code-invalid"}
    assert api_verify(client, second_txn, new).status_code == 200


def test_every_spelling_of_a_civil_id_shares_one_bucket(people: Flask) -> None:
    client = people.test_client()
    arabic = FATIMA.civil_id.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    fullwidth = FATIMA.civil_id.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    for spelling in (FATIMA.civil_id, arabic, fullwidth, f" {FATIMA.civil_id}\n"):
        assert api_start(client, spelling, FATIMA.file_number).status_code == 202
    assert len(sent_codes(people, FATIMA.phone)) == 1


def test_at_most_5_sms_an_hour_and_10_a_day_per_number(people: Flask) -> None:
    clock = use_fake_clock(people)
    client = people.test_client()

    def start_then_wait_a_minute() -> None:
        api_start(client, FATIMA.civil_id, FATIMA.file_number)
        otp.queue(people).drain()  # the code is claimed in the background: before time passes
        clock.advance(61)

    for _ in range(8):
        start_then_wait_a_minute()
    assert len(sent_codes(people, FATIMA.phone)) == 5
    clock.advance(3600)
    for _ in range(8):
        start_then_wait_a_minute()
    assert len(sent_codes(people, FATIMA.phone)) == 10
    clock.advance(3600)
    api_start(client, FATIMA.civil_id, FATIMA.file_number)
    assert len(sent_codes(people, FATIMA.phone)) == 10


def test_a_deceased_beneficiary_gets_no_code(app: Flask) -> None:
    add_people(app, FATIMA.__class__(**{**FATIMA.__dict__, "status": "deceased"}))
    assert api_start(app.test_client(), FATIMA.civil_id, FATIMA.file_number).status_code == 202
    assert sent_codes(app, FATIMA.phone) == []


def test_file_numbers_match_without_leading_zeros_or_case(people: Flask) -> None:
    api_start(people.test_client(), FATIMA.civil_id, "4512")
    assert len(sent_codes(people, FATIMA.phone)) == 1


def test_starts_per_client_address_are_limited(people: Flask) -> None:
    client = people.test_client()
    answers = [api_start(client, UNKNOWN_CIVIL_ID, "1").status_code for _ in range(31)]
    assert answers[:30] == [202] * 30 and answers[30] == 429
    limited = api_start(client, UNKNOWN_CIVIL_ID, "1")
    assert int(limited.headers["Retry-After"]) > 0


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(people: Flask) -> None:
    client = people.test_client()
    for n in range(31):
        last = api_start(client, UNKNOWN_CIVIL_ID, "1", **{"X-Forwarded-For": f"10.0.0.{n}"})
    assert last.status_code == 429


def test_forwarded_for_is_honoured_for_trusted_proxy_hops(tmp_path) -> None:
    from tests.apps import make_app

    app = make_app(tmp_path, TRUSTED_PROXIES=1)
    with app.app_context():
        db.upgrade(db.get_db().engine)
    client = app.test_client()
    answers = [
        api_start(client, UNKNOWN_CIVIL_ID, "1", **{"X-Forwarded-For": f"10.0.0.{n}"}).status_code
        for n in range(40)
    ]
    assert answers == [202] * 40


def test_audit_records_sending_success_failure_and_lock_without_secrets(people: Flask) -> None:
    client = people.test_client()
    txn = api_start(client, FATIMA.civil_id, FATIMA.file_number).json["txn"]
    [code] = sent_codes(people, FATIMA.phone)
    api_verify(client, txn, wrong(code))
    api_verify(client, txn, code)
    with people.app_context():
        events = db.session().scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    actions = [e.action for e in events]
    assert {"otp.sent", "login.failure", "login.success"} <= set(actions)
    for event in events:
        text = json.dumps([event.actor, event.subject, event.details])
        assert FATIMA.civil_id not in text and code not in text and txn not in text
        assert "2596" in event.subject


BAD_BODIES = [
    {"civil_id": "12345", "file_number": "1"},
    {"civil_id": "28802012259X", "file_number": "1"},
    {"civil_id": "288020122597", "file_number": "1"},
    {"civil_id": "2" * 10_000, "file_number": "1"},
    {"civil_id": FATIMA.civil_id, "file_number": "x" * 10_000},
    {"civil_id": FATIMA.civil_id, "file_number": ""},
    {"civil_id": 288020122596, "file_number": "1"},
    {"civil_id": [FATIMA.civil_id], "file_number": "1"},
    {"civil_id": None, "file_number": None},
    {"file_number": "1"},
    {"civil_id": FATIMA.civil_id},
    {},
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_bad_start_input_is_a_400_with_the_error_shape(people: Flask, body: dict) -> None:
    response = people.test_client().post("/api/v1/auth/start", json=body)
    assert response.status_code == 400
    assert set(response.json["error"]) == {"code", "message"}
    assert sms_sink(people).messages == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"txn": "x", "code": "12345"}, 400),
        ({"txn": "x", "code": "1234567"}, 400),
        ({"txn": "x", "code": "abcdef"}, 400),
        ({"txn": "x" * 10_000, "code": "123456"}, 400),
        ({"txn": 5, "code": 123456}, 400),
        ({"txn": None}, 400),
        ({}, 400),
    ],
)
def test_bad_verify_input_is_a_4xx_with_the_error_shape(
    people: Flask, body: dict, status: int
) -> None:
    response = people.test_client().post("/api/v1/auth/verify", json=body)
    assert response.status_code == status
    assert set(response.json["error"]) == {"code", "message"}


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("civil_id=1", "application/x-www-form-urlencoded", 415),
        ("{not json", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ('"text"', "application/json", 400),
        ("null", "application/json", 400),
    ],
)
def test_non_json_bodies_are_refused(
    people: Flask, data: str, content_type: str, status: int
) -> None:
    for path in ("/api/v1/auth/start", "/api/v1/auth/verify"):
        response = people.test_client().post(path, data=data, content_type=content_type)
        assert response.status_code == status
        assert "error" in response.json


def test_a_bearer_session_ends_at_logout(people: Flask) -> None:
    token = api_sign_in(people)
    client = people.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 401


def test_logout_without_a_token_is_401(people: Flask) -> None:
    response = people.test_client().post("/api/v1/auth/logout")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_sms_gateway_down_answers_503_until_it_recovers_and_sends_once(people: Flask) -> None:
    clock = use_fake_clock(people)
    client = people.test_client()
    sms_sink(people).fail_next = 1
    assert api_start(client, FATIMA.civil_id, FATIMA.file_number).status_code == 202
    assert sent_codes(people, FATIMA.phone) == []
    down = api_start(client, FATIMA.civil_id, FATIMA.file_number)
    assert down.status_code == 503
    assert down.json["error"]["code"] == "sms-unavailable"
    assert int(down.headers["Retry-After"]) > 0
    clock.advance(61)
    assert api_start(client, FATIMA.civil_id, FATIMA.file_number).status_code == 202
    assert len(sent_codes(people, FATIMA.phone)) == 1
    assert accounts(people) == 0


def test_a_number_the_gateway_refuses_is_that_numbers_error_not_an_outage(
    people: Flask,
) -> None:
    """A 4xx for one number made every sign-in answer 503 for 60 s and cleared its cooldown."""
    client = people.test_client()
    sink = sms_sink(people)
    sink.refuse.add(FATIMA.phone)
    first = api_start(client, FATIMA.civil_id, FATIMA.file_number)
    assert first.status_code == 202 and set(first.json) == {"txn"}
    assert sent_codes(people, FATIMA.phone) == []
    # Everyone else signs in as usual: no breaker opened for one number.
    other = api_start(client, NASSER.civil_id, NASSER.file_number)
    assert other.status_code == 202
    (code,) = sent_codes(people, NASSER.phone)
    assert api_verify(client, other.json["txn"], code).status_code == 200
    # The refused person sees the same answer as always, and the cooldown still holds, so
    # asking again does not send the number to the gateway again.
    sink.refuse.clear()
    again = api_start(client, FATIMA.civil_id, FATIMA.file_number)
    assert again.status_code == 202
    assert sent_codes(people, FATIMA.phone) == []
    with people.app_context():
        store = get_store()
        assert store.get("sms:down") is None
        assert store.ttl(f"otp:cool:{FATIMA.civil_id}")
        assert store.get(f"otp:code:{FATIMA.civil_id}") is None  # no code that nobody received
        actions = db.session().scalars(select(AuditEvent.action)).all()
    assert actions.count("otp.send_refused") == 1 and "otp.send_failed" not in actions


class CountingStore:
    """Wrap a store, noting each operation the calling thread makes (not the SMS workers')."""

    def __init__(self, store: object) -> None:
        self._store, self._thread = store, threading.get_ident()
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> object:
        method = getattr(self._store, name)

        def call(*args: object, **kwargs: object) -> object:
            if threading.get_ident() == self._thread:
                self.calls.append(name)
            return method(*args, **kwargs)

        return call


def test_a_matched_start_does_no_more_work_before_answering_than_another(
    people: Flask,
) -> None:
    """Its extra store writes made a matched start answer about 1 ms later (enumeration).

    What a match adds (cooldown, quotas, code, SMS) is left to the SMS workers; the answer does
    the same store operations either way. The time itself is measured by bench signin_timing.
    """
    client = people.test_client()
    assert client.get("/healthz").status_code == 200  # the day's first request has its own work
    seen = {}
    for kind, file_number in (("matched", FATIMA.file_number), ("other", NASSER.file_number)):
        counting = CountingStore(people.extensions["hawiya.store"])
        people.extensions["hawiya.store"] = counting
        try:
            assert api_start(client, FATIMA.civil_id, file_number).status_code == 202
        finally:
            people.extensions["hawiya.store"] = counting._store
        seen[kind] = counting.calls
    assert seen["matched"] == seen["other"]
    assert len(sent_codes(people, FATIMA.phone)) == 1  # and the matched one still got its code


def test_redis_down_is_a_503_and_creates_nothing(tmp_path) -> None:
    from tests.apps import make_app

    app = make_app(tmp_path, REDIS_URL="redis://127.0.0.1:1/0")
    with app.app_context():
        db.upgrade(db.get_db().engine)
    add_people(app, FATIMA)
    response = api_start(app.test_client(), FATIMA.civil_id, FATIMA.file_number)
    assert response.status_code == 503
    assert response.json["error"]["code"] == "unavailable"
    assert sms_sink(app).messages == []
    assert accounts(app) == 0


def test_parallel_starts_send_one_sms(any_app: Flask) -> None:
    add_people(any_app, FATIMA)
    barrier = threading.Barrier(20)

    def start() -> int:
        barrier.wait()
        return api_start(any_app.test_client(), FATIMA.civil_id, FATIMA.file_number).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda _: start(), range(20)))
    assert statuses == [202] * 20
    assert len(sent_codes(any_app, FATIMA.phone)) == 1


def test_parallel_verifications_of_one_code_make_one_session(any_app: Flask) -> None:
    add_people(any_app, FATIMA)
    client = any_app.test_client()
    for _round in range(20):
        with any_app.app_context():
            get_store().delete(f"otp:cool:{FATIMA.civil_id}")
            get_store().delete(f"sms:hour:{FATIMA.phone}")
            get_store().delete(f"sms:day:{FATIMA.phone}")
        txn = api_start(client, FATIMA.civil_id, FATIMA.file_number).json["txn"]
        code = sent_codes(any_app, FATIMA.phone)[-1]
        barrier = threading.Barrier(2)

        def verify(txn: str = txn, code: str = code, barrier: threading.Barrier = barrier) -> int:
            barrier.wait()
            return api_verify(any_app.test_client(), txn, code).status_code

        with ThreadPoolExecutor(2) as pool:
            statuses = sorted(pool.map(lambda _: verify(), range(2)))
        assert statuses == [200, 400]
    with any_app.app_context():
        logins = db.session().scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "login.success")
        )
    assert logins == 20


def test_otp_constants_match_the_design() -> None:
    assert (otp.MAX_TRIES, otp.LOCK_AFTER, otp.LOCK_SECONDS) == (5, 10, 900)
    assert (otp.SMS_PER_HOUR, otp.SMS_PER_DAY) == (5, 10)


def test_the_openapi_document_describes_the_auth_answers(people: Flask) -> None:
    """Prevents the documented contract drifting from the real answers."""
    client = people.test_client()
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    started = api_start(client, FATIMA.civil_id, FATIMA.file_number)
    schema = paths["/api/v1/auth/start"]["post"]["responses"]["202"]["content"]
    assert set(schema["application/json"]["schema"]["required"]) == set(started.json)
    verified = api_verify(client, started.json["txn"], sent_codes(people, FATIMA.phone)[-1])
    schema = paths["/api/v1/auth/verify"]["post"]["responses"]["200"]["content"]
    assert set(schema["application/json"]["schema"]["properties"]) == set(verified.json)
    refused = api_verify(client, started.json["txn"], "000000")
    assert str(refused.status_code) in paths["/api/v1/auth/verify"]["post"]["responses"]
