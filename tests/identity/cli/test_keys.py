"""`hawiya keys list | rotate | retire`: rotation keeps old public keys until they are retired."""

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask


@pytest.fixture
def app(keyless_app: Flask) -> Flask:
    """These tests make their own keys: start from a keys folder as `hawiya init` finds it."""
    return keyless_app


Run = Callable[..., Result]


@pytest.fixture
def run(app: Flask) -> Run:
    """Run a `hawiya` command against the app, as a person at a terminal would."""
    runner = app.test_cli_runner()

    def invoke(*args: str) -> Result:
        return runner.invoke(args=list(args))

    return invoke


def listed(run: Run) -> dict[str, str]:
    """Map each kid to its state, from `keys list`'s table."""
    result = run("keys", "list")
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split() == ["KID", "STATE", "CREATED", "(Kuwait", "time)"]
    return {row.split()[0]: row.split()[1] for row in rows}


def first_kid(run: Run) -> str:
    assert run("init").exit_code == 0
    (kid,) = listed(run)
    return kid


def test_list_shows_the_key_made_by_init_as_active(run: Run) -> None:
    kid = first_kid(run)
    assert listed(run) == {kid: "active"}
    assert len(kid) == 43  # a base64url SHA-256 thumbprint


def test_list_without_keys_says_to_run_init(run: Run) -> None:
    result = run("keys", "list")
    assert result.exit_code == 0
    assert "run `hawiya init`" in result.output


def test_rotate_prints_the_new_kid_alone_on_the_last_line(run: Run, app: Flask) -> None:
    old = first_kid(run)
    result = run("keys", "rotate")
    assert result.exit_code == 0, result.output
    new = result.output.splitlines()[-1]
    assert (Path(app.config["KEYS_DIR"]) / f"{new}.pem").exists()
    assert listed(run) == {old: "verify-only", new: "active"}


def test_retire_takes_a_verify_only_key_out(run: Run) -> None:
    old = first_kid(run)
    new = run("keys", "rotate").output.splitlines()[-1]
    result = run("keys", "retire", old)
    assert result.exit_code == 0, result.output
    assert "Retired key" in result.output
    assert listed(run) == {old: "retired", new: "active"}
    assert "already retired" in run("keys", "retire", old).output


def test_retire_refuses_the_active_key(run: Run) -> None:
    kid = first_kid(run)
    result = run("keys", "retire", kid)
    assert result.exit_code != 0
    assert "active signing key" in result.output and "keys rotate" in result.output
    assert listed(run) == {kid: "active"}


@pytest.mark.parametrize("kid", ["not-a-key", "../keys"])
def test_retire_refuses_an_unknown_kid(run: Run, kid: str) -> None:
    known = first_kid(run)
    result = run("keys", "retire", kid)
    assert result.exit_code != 0
    assert "no signing key" in result.output
    assert listed(run) == {known: "active"}


def test_a_kid_that_starts_with_a_dash_is_a_kid_not_an_option(run: Run, app: Flask) -> None:
    """A thumbprint starts with "-" one time in 64: `hawiya keys retire -Xy…` must still work."""
    from identity import signing

    first_kid(run)
    with app.app_context():
        for _ in range(1000):  # (63/64)^1000: no dashed kid once in ten million runs
            dashed = signing.rotate()
            if dashed.startswith("-"):
                break
        assert dashed.startswith("-")
        signing.rotate()  # the dashed key now only verifies, so it may be retired
    result = run("keys", "retire", dashed)
    assert result.exit_code == 0, result.output
    assert listed(run)[dashed] == "retired"


def test_rotate_and_retire_are_audited_as_in_the_console(run: Run, app: Flask) -> None:
    from sqlalchemy import select

    from identity import db
    from identity.models import AuditEvent

    old = first_kid(run)
    new = run("keys", "rotate").output.splitlines()[-1]
    run("keys", "retire", old)
    run("keys", "retire", old)  # already retired: nothing changes, nothing more is audited
    with app.app_context():
        columns = select(AuditEvent.actor, AuditEvent.action, AuditEvent.subject)
        rows = db.session().execute(columns.order_by(AuditEvent.id))
        assert [tuple(row) for row in rows] == [
            ("cli", "key.rotate", f"key:{new}"),
            ("cli", "key.retire", f"key:{old}"),
        ]
