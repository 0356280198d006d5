"""Thousands of malformed inputs to the verify paths: never a 5xx, never `valid`."""

import string

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from identity import db
from tests.factories import make_agency, phone_url
from verification.checks import (
    EVENT_COLUMNS,
    EVENTS,
    INSERT_EVENT_POSTGRES,
    Verdict,
    Verifier,
    record,
)

SETTINGS = settings(
    max_examples=700,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
B64 = string.ascii_letters + string.digits + "-_"


def agency_key(app: Flask) -> str:
    """One agency key per app, made on the first example (hypothesis reuses the fixture)."""
    if "FUZZ_KEY" not in app.config:
        app.config["FUZZ_KEY"] = make_agency(app, rate_limit=100_000)
        app.config["FUZZ_URL"] = phone_url(app)
    return str(app.config["FUZZ_KEY"])


@SETTINGS
@given(qr=st.one_of(st.text(max_size=600), JSON), purpose=st.one_of(st.text(max_size=300), JSON))
def test_random_bodies_never_break_the_api(world: Flask, qr: object, purpose: object) -> None:
    key = agency_key(world)
    response = world.test_client().post(
        "/api/v1/verify",
        json={"qr": qr, "purpose": purpose},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert response.json["result"] != "valid"


@SETTINGS
@given(data=st.data())
def test_mutated_real_tokens_are_never_valid(world: Flask, data: st.DataObject) -> None:
    key = agency_key(world)
    token = str(world.config["FUZZ_URL"]).rsplit("/", 1)[1]
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.sampled_from(B64 + ".=+/ %"))
    mutated = token[:position] + replacement + token[position + 1 :]
    if mutated == token:
        return
    client = world.test_client()
    response = client.post(
        "/api/v1/verify",
        json={"qr": mutated, "purpose": "fuzz"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200
    assert response.json["result"] != "valid", (position, replacement)
    page = client.get("/v/" + mutated)
    assert page.status_code < 500
    assert 'data-verdict="valid"' not in page.text


@SETTINGS
@given(path=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300))
def test_random_verdict_page_addresses_never_break(world: Flask, path: str) -> None:
    response = world.test_client().get("/v/" + path)
    assert response.status_code < 500
    assert 'data-verdict="valid"' not in response.text


def test_an_event_is_committed_before_record_returns_and_only_it_skips_the_wait_for_the_disk(
    any_app: Flask,
) -> None:
    """The event is in the register for every other connection as soon as record returns.

    On PostgreSQL its INSERT turns synchronous commit off for its own transaction only.
    """
    app = any_app
    with app.test_request_context():
        verdict = record(Verdict("invalid"), Verifier(None, "page"), "test")
        assert verdict.event_id is None  # a public check of nothing of ours: not stored
        verdict = record(Verdict("not_found", genuine=True), Verifier(None, "page"), "test")
        assert verdict.event_id is not None
        engine = db.get_db().engine
        with engine.connect() as other:  # not the request's session: committed already
            stored = other.execute(select(EVENTS).where(EVENTS.c.id == verdict.event_id)).one()
            assert (stored.kind, stored.result, stored.channel) == ("id_card", "not_found", "page")
            if engine.dialect.name != "postgresql":
                return
            event = {name: getattr(stored, name) for name in EVENT_COLUMNS}
            other.rollback()
            with other.begin() as lagging:
                other.execute(INSERT_EVENT_POSTGRES, event)
                assert other.scalar(text("SHOW synchronous_commit")) == "off"
                lagging.rollback()
            assert other.scalar(text("SHOW synchronous_commit")) == "on"
