"""Thousands of malformed inputs to the verify paths: never a 5xx, never `valid`."""

import itertools
import string

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text, update

from identity import clock, db
from identity.access import agencies
from identity.digital_id import credentials
from identity.models import (
    BENEFICIARY_STATUSES,
    CREDENTIAL_STATUSES,
    Beneficiary,
    Credential,
    standing,
)
from tests.factories import FATIMA, add_people, issue_ids, make_agency, phone_url
from verification.checks import (
    EVENT_COLUMNS,
    EVENTS,
    INSERT_EVENT_POSTGRES,
    READ_AND_RECORD_POSTGRES,
    Recording,
    Verdict,
    Verifier,
    check,
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


def test_a_check_answers_and_records_the_registers_standing_now_on_each_backend(
    any_app: Flask,
) -> None:
    """On PostgreSQL one statement reads, decides and records: it must agree with `standing`."""
    app = any_app
    add_people(app, FATIMA)
    (credential_id,) = issue_ids(app, FATIMA)
    key = make_agency(app)
    engine = app.extensions["hawiya.db"].engine
    pairs = list(itertools.product(CREDENTIAL_STATUSES, BENEFICIARY_STATUSES))
    for credential_status, holder_status in [*pairs, (None, None)]:
        with app.test_request_context():
            if credential_status is None:  # a credential the register does not hold
                url = credentials.phone_token(Credential(id="no-such-credential")).url
            else:
                with engine.begin() as connection:
                    connection.execute(update(Credential).values(status=credential_status))
                    connection.execute(update(Beneficiary).values(status=holder_status))
                url = phone_url(app)
            agency = agencies.known(key)
            verdict = check(url, Verifier(agency, "api"), "Standing test")
            expected = (
                standing(credential_status, holder_status) if credential_status else "not_found"
            )
            assert verdict.result == expected, (credential_status, holder_status)
            with engine.connect() as other:  # committed, as the check answered
                stored = other.execute(select(EVENTS).where(EVENTS.c.id == verdict.event_id)).one()
            holder_id = verdict.beneficiary.id if verdict.beneficiary else None
            assert (stored.result, stored.beneficiary_id, stored.agency_id) == (
                expected, holder_id, agency.id if agency else None,
            )  # fmt: skip
            assert stored.subject_ref == (
                credential_id if credential_status else "no-such-credential"
            )
            assert (holder_id is not None) == (credential_status is not None)
    if engine.dialect.name == "postgresql":  # its insert, too, skips the wait for the disk
        event = Recording(Verifier(None, "page"), "test").event(
            clock.now(), "id_card", credential_id
        )
        with engine.connect() as other, other.begin() as lagging:
            assert other.execute(READ_AND_RECORD_POSTGRES, event).one() is not None
            assert other.scalar(text("SHOW synchronous_commit")) == "off"
            lagging.rollback()
