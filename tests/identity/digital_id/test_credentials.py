"""Digital IDs: issued once, opaque, and their live status is what every scan sees."""

import time

import pytest
from flask import Flask
from sqlalchemy import func, select

from identity import db, signing
from identity.demo.synthetic import rows
from identity.digital_id import credentials
from identity.models import AuditEvent, Beneficiary, Credential
from identity.register.beneficiaries import find
from tests.factories import FATIMA, NASSER, add_people, api_sign_in
from verification.checks import check_phone_token


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model)) or 0


def issue(app: Flask, person=FATIMA) -> Credential:
    with app.app_context():
        session = db.session()
        beneficiary = find(session, person.civil_id)
        assert beneficiary is not None
        credential = credentials.issue(session, beneficiary, "test")
        session.commit()
        return credential


def set_status(app: Flask, model: type, key: object, status: str) -> None:
    with app.app_context():
        session = db.session()
        row = session.get(model, key)
        row.status = status
        session.commit()


def verdict(app: Flask, credential: Credential) -> str:
    with app.test_request_context():
        token = credentials.phone_token(credential).url.rsplit("/", 1)[1]
        return check_phone_token(token).result


def test_an_id_is_opaque_random_and_never_the_civil_id(app: Flask) -> None:
    add_people(app, FATIMA, NASSER)
    first, second = issue(app, FATIMA), issue(app, NASSER)
    assert len(first.id) == 16 and first.id != second.id
    assert FATIMA.civil_id not in first.id and first.status_index != second.status_index


def test_issuing_again_returns_the_same_id(app: Flask) -> None:
    add_people(app, FATIMA)
    assert issue(app).id == issue(app).id
    assert count(app, Credential) == 1


def test_a_revoked_id_is_replaced_only_when_issued_explicitly(app: Flask) -> None:
    add_people(app, FATIMA)
    first = issue(app)
    set_status(app, Credential, first.status_index, "revoked")
    with app.app_context():
        assert credentials.issue_all("test") == 0  # bulk issue never undoes a revocation
    second = issue(app)
    assert second.id != first.id and second.status_index > first.status_index


@pytest.mark.parametrize(
    ("credential_status", "beneficiary_status", "expected"),
    [
        ("active", "active", "valid"),
        ("suspended", "active", "suspended"),
        ("revoked", "active", "revoked"),
        ("active", "suspended", "suspended"),
        ("active", "inactive", "suspended"),
        ("active", "deceased", "revoked"),
        ("suspended", "deceased", "revoked"),
    ],
)
def test_the_verdict_is_the_live_status_at_once(
    any_app: Flask, credential_status: str, beneficiary_status: str, expected: str
) -> None:
    add_people(any_app, FATIMA)
    credential = issue(any_app)
    assert verdict(any_app, credential) == "valid"
    set_status(any_app, Credential, credential.status_index, credential_status)
    with any_app.app_context():
        person = find(db.session(), FATIMA.civil_id)
        assert person is not None
        person_id = person.id
    set_status(any_app, Beneficiary, person_id, beneficiary_status)
    assert verdict(any_app, credential) == expected


def test_an_unknown_credential_is_not_found(app: Flask) -> None:
    assert verdict(app, Credential(id=credentials.new_id())) == "not_found"


def test_bulk_issue_gives_everyone_one_id_and_rerunning_issues_nothing(any_app: Flask) -> None:
    from identity.register.beneficiaries import Record

    people = [Record(*row) for row in rows(2500, seed=4)]
    add_people(any_app, *people)
    with any_app.app_context():
        assert credentials.issue_all("test") == 2500
        assert credentials.issue_all("test") == 0
        assert credentials.count_without_credential() == 0
    assert count(any_app, Credential) == 2500
    with any_app.app_context():
        indexes = db.session().scalars(select(Credential.status_index)).all()
        bulk = db.session().scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "credential.issue_bulk")
        )
    assert len(set(indexes)) == 2500
    assert bulk == 3  # one audit entry per committed batch of 1,000


def test_the_cli_issues_one_or_all(app: Flask) -> None:
    add_people(app, FATIMA, NASSER)
    runner = app.test_cli_runner()
    one = runner.invoke(args=["credentials", "issue", FATIMA.civil_id])
    assert one.exit_code == 0 and "********2596" in one.output
    everyone = runner.invoke(args=["credentials", "issue", "--all"])
    assert everyone.exit_code == 0 and "Issued 1 digital IDs" in everyone.output
    again = runner.invoke(args=["credentials", "issue", FATIMA.civil_id])
    assert "already has" in again.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["credentials", "issue"], "Give a CIVIL_ID (one beneficiary), or --all"),
        (["credentials", "issue", "--all", FATIMA.civil_id], "Give --all or a CIVIL_ID, not both"),
        (["credentials", "issue", "12345"], "12 digits"),
        (["credentials", "issue", "261080414865"], "No beneficiary"),
    ],
)
def test_the_cli_refuses_bad_input_clearly(app: Flask, args: list[str], words: str) -> None:
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code != 0
    assert words in result.output
    assert "Traceback" not in result.output


def test_a_phone_token_of_ours_living_longer_than_qr_ttl_is_invalid(app: Flask) -> None:
    """Prevents a ten-year phone token signed with our own key verifying as valid."""
    add_people(app, FATIMA)
    credential = issue(app)
    with app.test_request_context():
        now = int(time.time())
        ttl = app.config["QR_TTL"]
        for lifetime, expected in ((10 * 365 * 86400, "invalid"), (ttl + 6, "invalid"),
                                   (ttl + 5, "valid"), (ttl, "valid")):  # fmt: skip
            claims = {"iss": signing.ISSUER, "sub": credential.id, "iat": now,
                      "exp": now + lifetime}  # fmt: skip
            token = signing.sign(claims, credentials.PHONE_TYP)
            assert check_phone_token(token).result == expected, lifetime


def test_the_credential_token_has_its_own_lifetime_policy(app: Flask) -> None:
    """Prevents a credential token signed for years reading as genuine: 30 days is the most."""
    add_people(app, FATIMA)
    credential = issue(app)
    with app.test_request_context():
        issued = credentials.credential_token(credential)
        assert credentials.read_credential_token(issued.token)["sub"] == credential.id
        now = int(time.time())
        claims = {"iss": signing.ISSUER, "sub": credential.id, "iat": now,
                  "exp": now + 10 * 365 * 86400, "status": {}}  # fmt: skip
        with pytest.raises(signing.TokenRejected) as refused:
            credentials.read_credential_token(signing.sign(claims, credentials.CREDENTIAL_TYP))
        assert (refused.value.verdict, refused.value.reason) == ("invalid", "lifetime")
        with pytest.raises(signing.TokenRejected):  # and a phone token is not one
            credentials.read_credential_token(
                credentials.phone_token(credential).url.rsplit("/", 1)[1]
            )


def test_a_revocation_before_the_first_sign_in_stays_in_force(app: Flask) -> None:
    """Sign-in and the card give out IDs by one rule, which never replaces a revoked ID."""
    add_people(app, FATIMA)
    revoked = issue(app)
    set_status(app, Credential, revoked.status_index, "revoked")
    token = api_sign_in(app, FATIMA)  # the first sign-in: an account is created
    card = app.test_client().get("/api/v1/me/card", headers={"Authorization": f"Bearer {token}"})
    assert card.json["status"] == "revoked"
    assert count(app, Credential) == 1


def test_the_first_sign_in_gives_an_id_to_someone_who_had_none(app: Flask) -> None:
    add_people(app, FATIMA)
    api_sign_in(app, FATIMA)
    assert count(app, Credential) == 1
    with app.app_context():
        actions = db.session().scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert "credential.issue" in actions
