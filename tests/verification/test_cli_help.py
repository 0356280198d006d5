"""`hawiya --help` says what Hawiya is and lists its commands by section; Flask's generic options
for finding an app are hidden (they still work)."""

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from identity import signing
from verification.app import SECTIONS, cli


@pytest.fixture
def hawiya(tmp_path: Path) -> CliRunner:
    signing.create_key(tmp_path / "keys")
    return CliRunner(
        env={
            "HAWIYA_ENV": "testing",
            "HAWIYA_SECRET_KEY": "cli-help-" + "0" * 40,
            "HAWIYA_DATABASE_URL": f"sqlite:///{tmp_path / 'hawiya.sqlite3'}",
            "HAWIYA_KEYS_DIR": str(tmp_path / "keys"),
            "HAWIYA_SMS_BACKEND": "recording",
        }
    )


def help_of(hawiya: CliRunner, *args: str) -> Result:
    result = hawiya.invoke(cli, [*args, "--help"], prog_name="hawiya")
    assert result.exit_code == 0, result.output
    return result


def test_help_first_says_what_hawiya_is(hawiya: CliRunner) -> None:
    usage, blank, first, *_ = help_of(hawiya).output.splitlines()
    assert usage.startswith("Usage: hawiya ") and blank == ""
    assert first.strip().startswith("Hawiya: digital IDs and document verification")


def test_help_lists_every_command_under_its_section(hawiya: CliRunner) -> None:
    output = help_of(hawiya).output
    for title, names in SECTIONS:
        assert f"\n{title}:\n" in output
        for name in names:
            assert f"\n  {name} " in output, name
    assert "\nOther:" not in output  # every command has its section


def test_help_hides_flasks_generic_options_but_they_still_work(hawiya: CliRunner) -> None:
    output = help_of(hawiya).output
    assert "--env-file" not in output and "--app" not in output
    assert "--debug" in output
    assert hawiya.invoke(cli, ["--app", "wsgi", "--help"]).exit_code == 0
