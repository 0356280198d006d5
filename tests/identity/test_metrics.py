"""Metrics: counters move with real requests, the exposition parses, only a metrics token reads."""

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from identity import db, metrics
from identity.access import api_tokens
from identity.models import VerificationEvent
from identity.store import RedisStore, Store
from tests.apps import make_app
from tests.factories import (
    FATIMA,
    add_people,
    api_sign_in,
    api_start,
    api_verify,
    backoffice_token,
    issue_ids,
    make_agency,
    phone_url,
    sent_codes,
)

CLOSED_PORT_URL = "redis://127.0.0.1:1/0"
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(rf'({NAME})(?:\{{({NAME}="[^"\\\n]*"(?:,{NAME}="[^"\\\n]*")*)\}})? (\d+)')


def parse(text: str) -> dict[str, int]:
    """Parse the text exposition format strictly: HELP and TYPE once, before their samples."""
    assert text.endswith("\n") and "\n\n" not in text
    samples: dict[str, int] = {}
    helped: set[str] = set()
    typed: set[str] = set()
    for line in text.removesuffix("\n").split("\n"):
        if line.startswith("# HELP "):
            name, _, help_text = line.removeprefix("# HELP ").partition(" ")
            assert re.fullmatch(NAME, name) and help_text and name not in helped, line
            helped.add(name)
        elif line.startswith("# TYPE "):
            name, _, kind = line.removeprefix("# TYPE ").partition(" ")
            assert name in helped and kind == "counter" and name not in typed, line
            typed.add(name)
        else:
            match = SAMPLE.fullmatch(line)
            assert match, f"not a sample line: {line!r}"
            assert match.group(1) in typed and match.group(1).endswith("_total"), line
            series = line.rpartition(" ")[0]
            assert series not in samples, f"sample repeated: {line!r}"
            samples[series] = int(match.group(3))
    return samples


def metrics_token(app: Flask) -> str:
    """Create a metrics token the way an operator does, with the CLI."""
    result = app.test_cli_runner().invoke(args=["tokens", "create", "--role", "metrics"])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def scrape(app: Flask, token: str) -> dict[str, int]:
    response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    return parse(response.text)


def with_fatima(app: Flask) -> Flask:
    """Put Fatima in the register with an active digital ID."""
    add_people(app, FATIMA)
    issue_ids(app, FATIMA)
    return app


def verify(app: Flask, key: str, qr: str) -> str:
    response = app.test_client().post(
        "/api/v1/verify",
        json={"qr": qr, "purpose": "Rent support"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200 and response.json is not None, response.text
    return str(response.json["result"])


def verification(kind: str, result: str) -> str:
    return f'hawiya_verifications_total{{kind="{kind}",result="{result}"}}'


def unrecorded(kind: str) -> str:
    return f'hawiya_verifications_unrecorded_total{{kind="{kind}"}}'


def sign_in(event: str) -> str:
    return f'hawiya_signin_events_total{{event="{event}"}}'


def responses(status_class: str) -> str:
    return f'hawiya_http_responses_total{{status="{status_class}"}}'


def server_errors(status: str) -> str:
    return f'hawiya_http_server_errors_total{{status="{status}"}}'


def changes(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    assert before.keys() == after.keys()
    return {
        series: after[series] - before[series]
        for series in after
        if after[series] != before[series]
    }


@pytest.fixture
def broken_route(any_app: Flask) -> Flask:
    """The app with a route that fails unexpectedly (added before its first request)."""

    def boom() -> str:
        raise RuntimeError("a bug")

    any_app.add_url_rule("/boom", view_func=boom)
    return any_app


def test_every_series_is_exposed_from_zero(any_app: Flask) -> None:
    samples = scrape(any_app, metrics_token(any_app))
    for kind in ("id_card", "document"):
        for result in ("valid", "revoked", "suspended", "expired", "invalid", "not_found"):
            assert samples[verification(kind, result)] == 0
    events = ("code_sent", "code_send_failed", "code_refused", "signed_in", "wrong_code", "locked")
    for event in events:
        assert samples[sign_in(event)] == 0
    assert {responses(c) for c in ("1xx", "2xx", "3xx", "4xx", "5xx")} <= samples.keys()
    assert samples[unrecorded("id_card")] == samples[unrecorded("document")] == 0
    assert len(samples) == 12 + 6 + 5 + 4 + 2


def test_counts_move_with_real_requests(broken_route: Flask) -> None:
    app = with_fatima(broken_route)
    token, key, url = metrics_token(app), make_agency(app), phone_url(app)
    before = scrape(app, token)  # 2xx +1 (itself, counted once answered)

    assert verify(app, key, url) == "valid"  # 2xx +1
    assert verify(app, key, "not a code") == "invalid"  # 2xx +1
    page = app.test_client().get(url.removeprefix(app.config["PUBLIC_URL"]))  # 2xx +1
    assert 'data-verdict="valid"' in page.text
    api_sign_in(app)  # 2xx +2: start, verify
    txn = api_start(app.test_client(), FATIMA.civil_id, FATIMA.file_number).json["txn"]  # 2xx
    assert api_verify(app.test_client(), txn, "000000").status_code == 400  # 4xx +1
    assert app.test_client().get("/no-such-page").status_code == 404  # 4xx +1
    assert app.test_client().get("/boom").status_code == 500  # 5xx +1
    sent_codes(app, FATIMA.phone)

    assert changes(before, scrape(app, token)) == {
        verification("id_card", "valid"): 2,
        verification("id_card", "invalid"): 1,
        sign_in("code_sent"): 1,  # the second start is within the resend cooldown
        sign_in("signed_in"): 1,
        sign_in("wrong_code"): 1,
        responses("2xx"): 7,
        responses("4xx"): 2,
        responses("5xx"): 1,
        server_errors("500"): 1,
    }


def test_public_checks_of_garbage_are_counted_and_never_stored(any_app: Flask) -> None:
    """Prevents anyone filling the database with events from made-up /v and /d addresses."""
    app = with_fatima(any_app)
    token, key = metrics_token(app), make_agency(app)
    before = scrape(app, token)
    client = app.test_client()
    assert client.get("/v/attacker-chosen-text").status_code == 200
    assert client.get("/v/eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln").status_code == 200
    assert client.get("/d/AttackerChosenReference").status_code == 200
    assert verify(app, key, "garbage from an agency") == "invalid"  # an agency's is stored
    assert verify(app, key, phone_url(app)) == "valid"
    assert client.get(phone_url(app).removeprefix(app.config["PUBLIC_URL"])).status_code == 200
    with app.app_context():
        stored = db.session().scalars(select(VerificationEvent.subject_ref)).all()
    assert len(stored) == 3 and None in stored  # the agency's garbage and two real checks
    assert not any(ref and "ttacker" in ref for ref in stored)
    moved = changes(before, scrape(app, token))
    assert moved[unrecorded("id_card")] == 2 and moved[unrecorded("document")] == 1
    assert moved[verification("id_card", "invalid")] == 3
    assert moved[verification("document", "not_found")] == 1


def test_ten_wrong_codes_count_a_lock(any_app: Flask) -> None:
    app = with_fatima(any_app)
    token = metrics_token(app)
    before = scrape(app, token)
    for _ in range(10):
        txn = api_start(app.test_client(), FATIMA.civil_id, FATIMA.file_number).json["txn"]
        api_verify(app.test_client(), txn, "000000")
    after = scrape(app, token)
    assert after[sign_in("wrong_code")] - before[sign_in("wrong_code")] == 10
    assert after[sign_in("locked")] - before[sign_in("locked")] == 1


def test_counts_are_shared_by_every_instance(any_app: Flask, tmp_path: Path) -> None:
    if not any_app.config["REDIS_URL"]:
        pytest.skip("the in-process store serves one process only, by design (README)")
    other = make_app(
        tmp_path / "other",
        **{k: any_app.config[k] for k in ("DATABASE_URL", "REDIS_URL", "STORE_PREFIX")},
    )
    token = metrics_token(any_app)
    before = scrape(other, token)
    assert any_app.test_client().get("/no-such-page").status_code == 404
    # Within FLUSH_EVERY the other instance reads it (its own scrapes count as 2xx, not 4xx).
    deadline = time.monotonic() + metrics.FLUSH_EVERY + 4
    while (seen := scrape(other, token)[responses("4xx")]) == before[responses("4xx")]:
        assert time.monotonic() < deadline, "the count never reached the other instance"
        time.sleep(0.05)
    assert seen - before[responses("4xx")] == 1
    other.extensions["hawiya.db"].engine.dispose()


def wrong_credentials(app: Flask) -> Iterator[tuple[str, dict[str, str]]]:
    yield "anonymous", {}
    yield "unknown token", {"Authorization": "Bearer hwb_" + "x" * 43}
    yield "back-office token", {"Authorization": f"Bearer {backoffice_token(app)}"}
    yield "agency key", {"Authorization": f"Bearer {make_agency(app)}"}
    yield "not bearer", {"Authorization": f"Basic {metrics_token(app)}"}


def test_only_a_metrics_token_reads_the_metrics(any_app: Flask) -> None:
    for what, headers in wrong_credentials(any_app):
        response = any_app.test_client().get(
            "/metrics", headers={**headers, "Accept": "application/json"}
        )
        assert response.status_code == 401 and response.json is not None, what
        assert response.json["error"]["code"] == "unauthorized", what
        assert "hawiya_" not in response.text, what


def test_a_metrics_token_opens_nothing_else(any_app: Flask) -> None:
    """The scraper's credential must not read or change the register."""
    headers = {"Authorization": f"Bearer {metrics_token(any_app)}"}
    client = any_app.test_client()
    assert (
        client.get(f"/api/v1/beneficiaries/{FATIMA.civil_id}", headers=headers).status_code == 401
    )
    assert client.post("/api/v1/documents", headers=headers).status_code == 401


def test_a_disabled_token_is_refused(any_app: Flask) -> None:
    token = metrics_token(any_app)
    with any_app.app_context():
        session = db.session()
        record = api_tokens.authenticate(session, token, "metrics")
        assert record is not None
        record.active = False
        session.commit()
    assert (
        any_app.test_client()
        .get("/metrics", headers={"Authorization": f"Bearer {token}"})
        .status_code
        == 401
    )


def stop_store(app: Flask) -> Store:
    """Point the app at a Redis that is not there; return the store it had."""
    working: Store = app.extensions["hawiya.store"]
    app.extensions["hawiya.store"] = RedisStore(CLOSED_PORT_URL)
    return working


def test_store_down_metrics_503_and_verification_still_works(any_app: Flask) -> None:
    app = with_fatima(any_app)
    token, url = metrics_token(app), phone_url(app)
    before = scrape(app, token)
    working = stop_store(app)

    response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    page = app.test_client().get(url.removeprefix(app.config["PUBLIC_URL"]))
    assert page.status_code == 200
    assert 'data-verdict="valid"' in page.text
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(VerificationEvent)) == 1

    with app.app_context():
        metrics.flush()  # written while the store is down: lost
    app.extensions["hawiya.store"] = working
    app.extensions[metrics.EXTENSION_KEY].resume()  # not paused, as after 5 s
    after = scrape(app, token)
    # The counts written while the store was down are lost, not errors; counting goes on after.
    assert changes(before, after) == {}
    assert scrape(app, token)[responses("2xx")] == after[responses("2xx")] + 1


def test_after_a_failed_write_the_writer_pauses(any_app: Flask) -> None:
    """A Redis that hangs must not add its timeout to every request: one try, then a pause."""
    attempts = []

    class CountingStore(RedisStore):
        def add_counts(self, key: str, amounts: dict[str, int]) -> None:  # type: ignore[override]
            attempts.append(key)
            super().add_counts(key, amounts)

    any_app.extensions["hawiya.store"] = CountingStore(CLOSED_PORT_URL)
    for _ in range(3):
        assert any_app.test_client().get("/healthz").status_code == 200
        with any_app.app_context():
            metrics.flush()
    assert attempts == ["metrics"]


def test_a_request_does_not_wait_for_its_counts_and_a_timer_writes_them(any_app: Flask) -> None:
    """The store sees a request's counts within FLUSH_EVERY, written by the process's timer."""
    token = metrics_token(any_app)
    before = scrape(any_app, token)
    written = []

    working: Store = any_app.extensions["hawiya.store"]

    class RecordingStore:
        """The working store, keeping a copy of every write of counts."""

        def add_counts(self, key: str, amounts: dict[str, int]) -> None:
            written.append(dict(amounts))
            working.add_counts(key, amounts)

        def __getattr__(self, name: str) -> object:
            return getattr(working, name)

    any_app.extensions["hawiya.store"] = RecordingStore()
    assert any_app.test_client().get("/no-such-page").status_code == 404
    assert written == []  # the request answered without writing
    deadline = time.monotonic() + metrics.FLUSH_EVERY + 4
    while not written:
        assert time.monotonic() < deadline, "the timer never wrote the counts"
        time.sleep(0.05)
    assert written[0][responses("4xx")] == 1
    assert scrape(any_app, token)[responses("4xx")] == before[responses("4xx")] + 1


def test_a_counter_refuses_unknown_label_values() -> None:
    with pytest.raises(ValueError):
        metrics.SIGN_IN.series(event="anything")
    with pytest.raises(ValueError):
        metrics.HTTP_RESPONSES.series()
    with pytest.raises(ValueError):
        metrics.Counter("hawiya_http_responses_total", "again", status=("2xx",))
    with pytest.raises(ValueError):
        metrics.Counter("hawiya_quoted_total", "bad", label=('a"b',))
    with pytest.raises(ValueError):
        metrics.Counter("hawiya_two_lines_total", "one\ntwo")
