"""`hawiya credentials issue [--all | CIVIL_ID]`: one of the two, said so in its usage."""

from flask import Flask

from tests.factories import FATIMA, add_people


def test_usage_says_all_or_a_civil_id(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["credentials", "issue", "--help"])
    assert result.exit_code == 0
    assert "credentials issue [--all | CIVIL_ID]" in result.output


def test_neither_is_a_usage_error_that_names_both(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["credentials", "issue"])
    assert result.exit_code == 2
    assert "Give a CIVIL_ID (one beneficiary), or --all" in result.output
    assert "[--all | CIVIL_ID]" in result.output


def test_both_is_a_usage_error(app: Flask) -> None:
    add_people(app, FATIMA)
    result = app.test_cli_runner().invoke(args=["credentials", "issue", "--all", FATIMA.civil_id])
    assert result.exit_code == 2
    assert "Give --all or a CIVIL_ID, not both." in result.output


def test_all_alone_issues_to_everyone(app: Flask) -> None:
    add_people(app, FATIMA)
    result = app.test_cli_runner().invoke(args=["credentials", "issue", "--all"])
    assert result.exit_code == 0, result.output
    assert "Issued 1 digital IDs" in result.output
