"""`hawiya demo` loads once: later runs change nothing and say what the demo holds; --reset
re-issues its credentials."""

import re
from pathlib import Path

import pyotp
from click.testing import Result
from flask import Flask
from sqlalchemy import inspect, text

from identity import db
from identity.access import agencies, staff
from identity.demo import letter, loader
from identity.documents import documents
from identity.models import Document, DocumentFile

CREDENTIALS = re.compile(r"username demo-admin, password (\S+), TOTP secret ([A-Z2-7]+)")
DOCUMENT = re.compile(r"document number (HW-\d{4}-\d{6}), code (\w{4}-\w{4})")


def demo(app: Flask, *args: str) -> Result:
    result = app.test_cli_runner().invoke(args=["demo", *args])
    assert result.exit_code == 0, result.output
    return result


def api_key(output: str) -> str:
    """The API key: the last line of a run that made one."""
    key = output.strip().splitlines()[-1]
    assert key.startswith("hwy_"), output
    return key


def snapshot(app: Flask) -> tuple[dict[str, list[str]], dict[str, bytes]]:
    """Every row of every table, and every file of the keys folder."""
    with app.app_context():
        engine = db.get_db().engine
        with engine.connect() as connection:
            rows = {
                table: sorted(
                    repr(tuple(row)) for row in connection.execute(text(f"SELECT * FROM {table}"))
                )
                for table in inspect(connection).get_table_names()
            }
    keys = Path(app.config["KEYS_DIR"])
    files = {str(path.relative_to(keys)): path.read_bytes() for path in keys.rglob("*")}
    return rows, files


def signs_in(app: Flask, password: str, secret: str) -> bool:
    with app.test_request_context():
        try:
            staff.authenticate(loader.STAFF, password, pyotp.TOTP(secret).now(), "192.0.2.1")
        except staff.SignInRefused:
            return False
        return True


def key_works(app: Flask, key: str) -> bool:
    with app.app_context():
        return agencies.authenticate(db.session(), key) is not None


def init(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output


def test_a_second_run_changes_nothing_and_says_what_the_demo_holds(any_app: Flask) -> None:
    app = any_app
    init(app)  # as `make run` does: init, demo, then the server
    first = demo(app).output
    password, secret = CREDENTIALS.search(first).groups()  # type: ignore[union-attr]
    key = api_key(first)
    rows, keys = snapshot(app)

    init(app)
    second = demo(app).output

    rows_now, keys_now = snapshot(app)
    assert [table for table in rows if rows_now[table] != rows[table]] == []
    assert rows_now.keys() == rows.keys() and keys_now == keys
    assert "nothing was changed" in second
    assert "200 beneficiaries with 200 digital IDs" in second
    assert "'Demo Agency'" in second and "staff user demo-admin" in second
    assert DOCUMENT.search(second).groups() == DOCUMENT.search(first).groups()  # type: ignore[union-attr]
    person = loader.first_person()
    assert f"civil ID {person.civil_id}, file number {person.file_number}" in second
    for path in ("/login", "/scan", "/d", "/staff/", "/api/docs"):
        assert f"{app.config['PUBLIC_URL']}{path}" in second.split(), path
    # The secrets shown once are not shown again, and the way to new ones is named.
    assert password not in second and secret not in second and key not in second
    assert "hawiya demo --reset" in second and "not shown again" in second
    # ... and they still work.
    assert signs_in(app, password, secret) and key_works(app, key)


def test_reset_re_issues_the_credentials_and_the_old_ones_stop_working(app: Flask) -> None:
    first = demo(app).output
    password, secret = CREDENTIALS.search(first).groups()  # type: ignore[union-attr]
    key = api_key(first)
    with app.app_context():
        documents_before = db.session().query(Document).count()

    reset = demo(app, "--reset").output

    assert "Re-issued the demo's credentials" in reset
    new_password, new_secret = CREDENTIALS.search(reset).groups()  # type: ignore[union-attr]
    new_key = api_key(reset)
    assert (new_password, new_secret, new_key) != (password, secret, key)
    assert new_secret != secret and new_key != key
    assert key_works(app, new_key) and not key_works(app, key)
    assert signs_in(app, new_password, new_secret)
    assert not signs_in(app, password, secret)
    with app.app_context():  # the rest of the demo stays as it was
        assert db.session().query(Document).count() == documents_before


def test_reset_before_the_demo_loaded_loads_it(app: Flask) -> None:
    output = demo(app, "--reset").output
    assert "The demo is loaded." in output
    assert CREDENTIALS.search(output) and api_key(output)


def test_the_demo_document_is_stamped_and_found_by_its_printed_number_and_code(
    app: Flask,
) -> None:
    number, code = DOCUMENT.search(demo(app).output).groups()  # type: ignore[union-attr]
    with app.app_context():
        session = db.session()
        found = documents.by_number_and_code(session, number, code)
        assert found is not None and found.status == "valid"
        assert found.beneficiary.civil_id == loader.first_person().civil_id
        stamped = session.get(DocumentFile, found.id)
        assert stamped is not None and letter.printed_code(stamped.pdf) == code
        assert documents.by_number_and_code(session, number, "2222-2222") is None


def test_printed_code_of_a_letter_without_a_stamp_is_none() -> None:
    assert letter.printed_code(letter.make("Nobody")) is None
