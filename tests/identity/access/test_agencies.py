"""The agencies a process holds in memory: a request answered from there opens no session."""

from flask import Flask

from identity import db
from identity.access import agencies
from tests.factories import make_agency


def test_a_known_agency_is_answered_from_memory_without_a_database_session(app: Flask) -> None:
    key = make_agency(app)
    with app.test_request_context():
        assert agencies.known(key) is not None  # read from the register, then held
        assert db.get_db().session.registry.has()
    with app.test_request_context():
        found = agencies.known(key)
        assert found is not None and found.name == "Housing Authority"
        assert not db.get_db().session.registry.has()
        assert agencies.known("hwy_" + "x" * 43) is None  # not held: looked up, and refused
        assert db.get_db().session.registry.has()
