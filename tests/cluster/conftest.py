"""The cluster: one PostgreSQL database and one Redis db shared by real `hawiya serve` instances.

The database is the test database's name plus `_cluster` (hawiya_test_cluster by default), on
the same server, emptied and migrated by `hawiya init` once per session; the instances share a
key folder and a secret made for the session, run with HAWIYA_ENV=production, and send SMS
with the `http` backend to a sink the tests read. A control app in this process, on the same
settings, sets up the register and reads what the instances wrote.
"""

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from identity import db
from identity.demo.synthetic import rows
from identity.digital_id import credentials
from identity.documents import documents
from identity.models import Account, AuditEvent, Credential
from identity.register.beneficiaries import Record, find
from tests.apps import POSTGRES_URL, empty_postgres_database
from tests.cluster.instances import hawiya, settings_env
from tests.cluster.services import SINK_TOKEN, SmsSink
from tests.factories import add_people, make_pdf
from verification.app import create_app

CLUSTER_DATABASE_URL = make_url(POSTGRES_URL).set(
    database=f"{make_url(POSTGRES_URL).database}_cluster"
)
PURPOSE = "Cluster check"


@dataclass
class Cluster:
    """The shared settings, the control app and what every test needs to talk to the instances."""

    folder: Path
    settings: dict[str, str]
    app: Flask
    sink: SmsSink
    agency_key: str = ""
    backoffice_token: str = ""
    _people: Iterator[tuple[str, ...]] = field(default_factory=lambda: rows(400, seed=2026))

    def env(self, **overrides: str) -> dict[str, str]:
        """The environment of an instance: the shared settings with some replaced."""
        return settings_env(**{**self.settings, **overrides})

    def store(self, url: str | None = None) -> "PrefixedRedis":
        """A Redis client reading the instances' keys (under their prefix)."""
        return PrefixedRedis(url or self.settings["REDIS_URL"], self.settings["STORE_PREFIX"])

    def unregistered(self, count: int, phone: str | None = None) -> list[Record]:
        """Invent `count` active people who are not in the register (yet)."""
        made = []
        for _ in range(count):
            civil_id, file_number, name_ar, name_en, own_phone, _status = next(self._people)
            made.append(
                Record(civil_id, file_number, name_ar, name_en, phone or own_phone, "active")
            )
        return made

    def people(self, count: int, phone: str | None = None) -> list[Record]:
        """Put `count` new active people into the register, each with a digital ID."""
        made = self.unregistered(count, phone)
        add_people(self.app, *made)
        with self.app.app_context():
            session = db.session()
            for person in made:
                found = find(session, person.civil_id)
                assert found is not None
                credentials.issue(session, found, "cluster-test")
            session.commit()
        return made

    def credential(self, person: Record) -> Credential:
        """The person's digital ID as the register holds it now."""
        with self.app.app_context():
            session = db.session()
            found = find(session, person.civil_id)
            assert found is not None
            credential = credentials.current(session, found.id)
            assert credential is not None
            session.expunge(credential)
            return credential

    def qr(self, person: Record) -> str:
        """A freshly signed phone QR (its URL) for the person's digital ID."""
        with self.app.app_context():
            return credentials.phone_token(self.credential(person)).url

    def document(self, person: Record) -> str:
        """Issue the person a stamped letter; return the address in its QR."""
        with self.app.app_context():
            session = db.session()
            found = find(session, person.civil_id)
            assert found is not None
            issued = documents.issue(
                session, make_pdf(1), found, "letter", "Housing letter", "Main office", "test"
            )
            session.commit()
            return documents.url(issued.document)

    def audit_count(self, action: str, subject: str) -> int:
        """How many audit entries with this action and subject the log holds."""
        with self.app.app_context():
            return (
                db.session().scalar(
                    select(func.count(AuditEvent.id)).where(
                        AuditEvent.action == action, AuditEvent.subject == subject
                    )
                )
                or 0
            )

    def accounts_of(self, person: Record) -> int:
        """How many accounts the person has (the first sign-in creates one)."""
        with self.app.app_context():
            session = db.session()
            found = find(session, person.civil_id)
            assert found is not None
            return (
                session.scalar(
                    select(func.count(Account.id)).where(Account.beneficiary_id == found.id)
                )
                or 0
            )

    def query(self, statement: Any) -> list[Any]:
        """Rows of a select, read afresh from PostgreSQL."""
        with self.app.app_context():
            return list(db.session().execute(statement).all())

    def agency_headers(self, address: str = "10.9.0.1") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.agency_key}", "X-Forwarded-For": address}

    def backoffice_headers(self, address: str = "10.9.0.2") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.backoffice_token}", "X-Forwarded-For": address}


class PrefixedRedis:
    """Read the instances' keys in a Redis, under their prefix."""

    def __init__(self, url: str, prefix: str) -> None:
        self.client = redis.Redis.from_url(url, decode_responses=True)
        self.prefix = prefix

    def get(self, key: str) -> str | None:
        value = self.client.get(self.prefix + key)
        return None if value is None else str(value)

    def delete(self, key: str) -> None:
        self.client.delete(self.prefix + key)

    def count(self, pattern: str) -> int:
        return sum(1 for _ in self.client.scan_iter(match=self.prefix + pattern))

    def close(self) -> None:
        self.client.close()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Cluster]:
    """A migrated database, a key, an SMS sink, an agency and a back-office token, for a session."""
    database_url = empty_postgres_database(
        CLUSTER_DATABASE_URL.render_as_string(hide_password=False)
    )
    folder = tmp_path_factory.mktemp("cluster")
    sink = SmsSink()
    server = sink.start()
    settings = {
        "ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "STORE_PREFIX": f"cluster-{secrets.token_hex(6)}:",
        "KEYS_DIR": str(folder / "keys"),
        "SMS_BACKEND": "http",
        "SMS_HTTP_URL": sink.url,
        "SMS_HTTP_TOKEN": SINK_TOKEN,
        "TRUSTED_PROXIES": "1",  # the tests set X-Forwarded-For, one address per "person"
        "WORKERS": "2",
    }
    done = hawiya(settings_env(**settings), "init")
    assert done.returncode == 0, done.stderr
    app = create_app({**settings, "TRUSTED_PROXIES": 1, "WORKERS": 1})
    made = Cluster(folder, settings, app, sink)
    runner = app.test_cli_runner()
    created = runner.invoke(
        args=["agencies", "create", "Cluster Agency", "--purpose", PURPOSE,
              "--scope", "name,status", "--rate-limit", "100000"],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    made.agency_key = created.output.strip().splitlines()[-1]
    created = runner.invoke(args=["tokens", "create", "--role", "backoffice"])
    assert created.exit_code == 0, created.output
    made.backoffice_token = created.output.strip().splitlines()[-1]
    try:
        yield made
    finally:
        sink.release.set()
        server.shutdown()
        server.server_close()
        app.extensions["hawiya.db"].engine.dispose()
        store = made.store()
        keys = list(store.client.scan_iter(match=settings["STORE_PREFIX"] + "*"))
        if keys:
            store.client.delete(*keys)
        store.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every cluster test starts servers: mark them slow (make test still runs them)."""
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.slow)
