"""Bearer secrets: one rule for agency keys and back-office tokens, stored forms unchanged."""

import hashlib

import pytest
from flask import Flask

from identity import db
from identity.access import agencies, api_tokens, bearer_secrets
from identity.models import Agency, ApiToken


def stored_form(secret: str) -> str:
    """The stored form rows already hold: the SHA-256 of the secret, in hexadecimal."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def add_agency(name: str, key: str) -> None:
    """Store an agency holding this key, as rows are stored."""
    session = db.session()
    session.add(
        Agency(name=name, purpose="Benefits", scope="name", key_hash=stored_form(key),
               key_prefix=key[:10], active=True, rate_limit=600)
    )  # fmt: skip
    session.commit()


def test_a_minted_secret_is_its_prefix_and_256_random_bits_kept_as_its_sha256() -> None:
    minted = agencies.KEYS.mint()
    assert minted.secret.startswith("hwy_") and len(minted.secret) == 4 + 43
    assert minted.digest == stored_form(minted.secret)
    assert minted.shown == minted.secret[:10]
    assert api_tokens.TOKENS.mint().secret.startswith("hwb_")
    assert agencies.KEYS.mint().secret != minted.secret


def test_rows_stored_before_the_shared_rule_keep_working(app: Flask) -> None:
    key, token = "hwy_" + "k" * 43, "hwb_" + "t" * 43
    with app.app_context():
        add_agency("Old Agency", key)
        session = db.session()
        session.add(
            ApiToken(role="backoffice", token_hash=stored_form(token), prefix=token[:10],
                     active=True)
        )  # fmt: skip
        session.commit()
        found = agencies.authenticate(session, key)
        assert found is not None and found.name == "Old Agency"
        assert api_tokens.authenticate(session, token, "backoffice") is not None
        assert api_tokens.authenticate(session, token, "metrics") is None


@pytest.mark.parametrize(
    "secret",
    [None, "", "hwb_" + "k" * 43, "HWY_" + "k" * 43, "hwy_" + "x" * 43, " hwy_" + "k" * 43],
)
def test_a_missing_foreign_or_unknown_key_finds_nothing(app: Flask, secret: str | None) -> None:
    with app.app_context():
        add_agency("Agency", "hwy_" + "k" * 43)
        assert agencies.authenticate(db.session(), "hwy_" + "k" * 43) is not None
        assert agencies.authenticate(db.session(), secret) is None


def test_a_key_over_the_length_cap_is_refused_even_when_its_hash_is_stored(app: Flask) -> None:
    longest = "hwy_" + "k" * (bearer_secrets.MAX_LENGTH - 4)
    with app.app_context():
        add_agency("Longest", longest)
        add_agency("Overlong", longest + "k")
        assert agencies.authenticate(db.session(), longest) is not None
        assert agencies.authenticate(db.session(), longest + "k") is None


def test_a_disabled_agency_or_token_finds_nothing(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        new = agencies.create(session, "Ministry", "Benefits", "name", "test")
        token = api_tokens.create(session, "backoffice", "test")
        new.agency.active, token.record.active = False, False
        session.commit()
        assert agencies.authenticate(session, new.key) is None
        assert api_tokens.authenticate(session, token.token, "backoffice") is None
