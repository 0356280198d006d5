"""The agency API: each verdict, scoped disclosure, identical 401s, rate limits, receipts."""

import time
from typing import Any, cast

import pytest
from flask import Flask
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet, KeySetSerialization
from sqlalchemy import select

from identity import db, signing
from identity.access import agencies
from identity.digital_id import credentials
from identity.models import Beneficiary, Credential, VerificationEvent
from tests.factories import FATIMA, api_sign_in, clock_at, make_agency, phone_url
from verification import receipts

ALL_SCOPES = "name,civil_id,file_number,phone,status,category"


def verify(app: Flask, key: str | None, qr: Any, purpose: Any = "Housing eligibility", **kw: Any):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return app.test_client().post(
        "/api/v1/verify", json={"qr": qr, "purpose": purpose}, headers=headers, **kw
    )


def set_credential(app: Flask, status: str) -> None:
    with app.app_context():
        session = db.session()
        session.scalars(select(Credential)).one().status = status
        session.commit()


def set_person(app: Flask, status: str) -> None:
    with app.app_context():
        session = db.session()
        session.scalars(select(Beneficiary)).one().status = status
        session.commit()


def forged_token_for_unknown_credential(app: Flask) -> str:
    with app.app_context():
        return credentials.phone_token(Credential(id=credentials.new_id())).url


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda app: None, "valid"),
        (lambda app: set_credential(app, "revoked"), "revoked"),
        (lambda app: set_credential(app, "suspended"), "suspended"),
        (lambda app: set_person(app, "inactive"), "suspended"),
        (lambda app: set_person(app, "deceased"), "revoked"),
    ],
)
@pytest.mark.parametrize("path", ["api", "page"])
def test_each_live_verdict_through_each_path(
    world: Flask, change, expected: str, path: str
) -> None:
    url = phone_url(world)
    change(world)
    if path == "api":
        response = verify(world, make_agency(world), url)
        assert response.status_code == 200
        assert response.json["result"] == expected
        assert response.json["kind"] == "id_card"
        assert response.json["status_source"] == "live"
    else:
        page = world.test_client().get(url.replace(world.config["PUBLIC_URL"], ""))
        assert f'data-verdict="{expected}"' in page.text


@pytest.mark.parametrize(
    ("qr", "expected"),
    [
        ("not a token at all", "invalid"),
        ("https://elsewhere.example/v/eyJhbGciOiJub25lIn0.e30.", "invalid"),
        ("https://elsewhere.example/login", "invalid"),
        ("a.b.c", "invalid"),
        ("x" * 10_000, "invalid"),
    ],
)
def test_what_is_not_ours_is_a_verdict_not_an_error(world: Flask, qr: str, expected: str) -> None:
    response = verify(world, make_agency(world), qr)
    assert response.status_code == 200
    assert response.json["result"] == expected
    assert response.json["subject"] == {}


def test_an_unknown_credential_is_not_found(world: Flask) -> None:
    response = verify(world, make_agency(world), forged_token_for_unknown_credential(world))
    assert response.json["result"] == "not_found"


def test_an_expired_code_is_expired_and_discloses_nothing(
    world: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = phone_url(world)
    key = make_agency(world)
    monkeypatch.setattr("identity.clock.now", clock_at(time.time() + 120))
    response = verify(world, key, url)
    assert response.json["result"] == "expired"
    assert response.json["subject"] == {}


def test_a_bare_token_works_like_the_url(world: Flask) -> None:
    token = phone_url(world).rsplit("/", 1)[1]
    assert verify(world, make_agency(world), token).json["result"] == "valid"


def test_the_token_as_a_jws_works_as_its_dense_form_does(world: Flask) -> None:
    """The URL the QR holds has the token in digits; `<PUBLIC_URL>/v/<JWS>` is accepted too."""
    url = phone_url(world)
    base, _, digits = url.rpartition("/")
    assert digits.isdigit()
    jws = credentials.from_numeric(digits)
    assert jws is not None and jws.count(".") == 2
    key = make_agency(world)
    for text in (url, digits, f"{base}/{jws}", jws):
        assert verify(world, key, text).json["result"] == "valid", text
    assert world.test_client().get(f"/v/{jws}").status_code == 200
    assert "valid" in world.test_client().get(f"/v/{digits}").text


@pytest.mark.parametrize(
    "scope",
    ["", "name", "status", "civil_id,phone", "name,status,category", ALL_SCOPES],
)
def test_the_subject_holds_exactly_the_agency_scope(world: Flask, scope: str) -> None:
    response = verify(world, make_agency(world, scope=scope), phone_url(world))
    expected = {s for s in scope.split(",") if s}
    assert set(response.json["subject"]) == expected
    if "name" in expected:
        assert response.json["subject"]["name"] == {
            "ar": FATIMA.full_name_ar, "en": FATIMA.full_name_en,
        }  # fmt: skip
    if "civil_id" in expected:
        assert response.json["subject"]["civil_id"] == FATIMA.civil_id
    text = response.text
    for attribute, value in (("civil_id", FATIMA.civil_id), ("phone", FATIMA.phone)):
        if attribute not in expected:
            assert value not in text


def test_missing_wrong_and_disabled_keys_get_one_identical_401(world: Flask) -> None:
    key = make_agency(world)
    other = make_agency(world, name="Old Ministry")
    with world.app_context():
        session = db.session()
        agency = agencies.by_name(session, "Old Ministry")
        assert agency is not None
        agencies.set_active(session, agency, False, "test")
        session.commit()
    url = phone_url(world)
    answers = [
        verify(world, None, url),
        verify(world, key[:-2] + "xx", url),
        verify(world, "hwy_" + "a" * 43, url),
        verify(world, other, url),
        world.test_client().post(
            "/api/v1/verify", json={"qr": url, "purpose": "x"}, headers={"Authorization": key}
        ),
        world.test_client().post(
            "/api/v1/verify",
            json={"qr": url, "purpose": "x"},
            headers={"Authorization": f"Basic {key}"},
        ),
    ]
    assert {a.status_code for a in answers} == {401}
    assert len({a.data for a in answers}) == 1
    assert verify(world, key, url).status_code == 200


@pytest.mark.parametrize("query", ["?api_key=KEY", "?key=KEY", "?access_token=KEY", "?x=KEY"])
def test_a_key_in_the_query_string_is_refused(world: Flask, query: str) -> None:
    key = make_agency(world)
    response = world.test_client().post(
        "/api/v1/verify" + query.replace("KEY", key),
        json={"qr": phone_url(world), "purpose": "x"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "key-in-query"


def test_each_key_has_its_own_rate_limit(world: Flask) -> None:
    greedy = make_agency(world, name="Greedy", rate_limit=3)
    polite = make_agency(world, name="Polite", rate_limit=3)
    url = phone_url(world)
    statuses = [verify(world, greedy, url).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = verify(world, greedy, url)
    assert limited.json["error"]["code"] == "too-many-requests"
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    assert verify(world, polite, url).status_code == 200


def test_the_receipt_is_signed_and_says_what_was_told(world: Flask) -> None:
    response = verify(world, make_agency(world), phone_url(world), "Rent support")
    receipt = response.json["receipt"]
    key_set = KeySet.import_key_set(
        cast(KeySetSerialization, world.test_client().get("/.well-known/jwks.json").json)
    )
    claims = jose_jwt.decode(receipt, key_set, algorithms=["ES256"]).claims
    assert claims["result"] == response.json["result"] == "valid"
    assert claims["agency"] == "Housing Authority" and claims["purpose"] == "Rent support"
    assert claims["kind"] == "id_card" and claims["checked_at"] == response.json["checked_at"]
    with world.app_context():
        assert receipts.read(receipt)["result"] == "valid"
        with pytest.raises(signing.TokenRejected):
            receipts.read(receipt[:-4] + "AAAA")


def test_every_check_is_recorded_and_the_beneficiary_can_read_it(world: Flask) -> None:
    verify(world, make_agency(world), phone_url(world), "Rent support")
    world.test_client().get(phone_url(world).replace(world.config["PUBLIC_URL"], ""))
    with world.app_context():
        events = db.session().scalars(select(VerificationEvent)).all()
    assert [(e.channel, e.purpose, e.result) for e in events] == [
        ("api", "Rent support", "valid"),
        ("page", "public", "valid"),
    ]
    token = api_sign_in(world)
    listed = (
        world.test_client()
        .get("/api/v1/me/verifications", headers={"Authorization": f"Bearer {token}"})
        .json["verifications"]
    )
    assert [(v["verifier"], v["purpose"]) for v in listed] == [
        (None, "public"),
        ("Housing Authority", "Rent support"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"purpose": "x"},
        {"qr": "", "purpose": "x"},
        {"qr": 5, "purpose": "x"},
        {"qr": ["a"], "purpose": "x"},
        {"qr": "abc"},
        {"qr": "abc", "purpose": ""},
        {"qr": "abc", "purpose": "p" * 201},
        {"qr": "abc", "purpose": {"a": 1}},
    ],
)
def test_bad_requests_are_400_with_the_error_shape(world: Flask, body: dict) -> None:
    response = world.test_client().post(
        "/api/v1/verify", json=body, headers={"Authorization": f"Bearer {make_agency(world)}"}
    )
    assert response.status_code == 400
    assert set(response.json["error"]) == {"code", "message"}


def test_a_non_json_body_is_415(world: Flask) -> None:
    response = world.test_client().post(
        "/api/v1/verify", data="qr=x", headers={"Authorization": f"Bearer {make_agency(world)}"},
        content_type="application/x-www-form-urlencoded",
    )  # fmt: skip
    assert response.status_code == 415


def test_the_cli_prints_the_key_alone_on_the_last_line(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["agencies", "create", "Ministry of Social Affairs", "--purpose", "Benefits",
              "--scope", "name,status"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("hwy_") and " " not in key
    with app.app_context():
        assert agencies.authenticate(db.session(), key) is not None
        stored = agencies.by_name(db.session(), "Ministry of Social Affairs")
        assert stored is not None and key not in (stored.key_hash, stored.key_prefix)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--purpose", "x", "--scope", "name"], "purpose must be"),
        (["--purpose", "Benefits", "--scope", "name,religion"], "Unknown scope"),
        (["--purpose", "Benefits", "--scope", "name", "--rate-limit", "0"], "rate limit"),
    ],
)
def test_the_cli_refuses_bad_agencies(app: Flask, args: list[str], words: str) -> None:
    result = app.test_cli_runner().invoke(args=["agencies", "create", "Agency X", *args])
    assert result.exit_code != 0 and words in result.output


def spliced(url: str, at: int, text: str) -> str:
    return url[:at] + text + url[at:]


@pytest.mark.parametrize(
    "inside", ["\t", "\r", "\n", "\r\n", "\x00", "\x1f", "\x7f", "\x85", "\u200b", "\u202e",
               "\u2066", "\ufeff", "\u00a0", "\u2028"],
)  # fmt: skip
@pytest.mark.parametrize("where", ["token", "host", "bare"])
def test_a_control_character_inside_the_scanned_text_is_invalid(
    world: Flask, inside: str, where: str
) -> None:
    """Prevents a second spelling of a genuine code: URL parsers drop tabs, CR and LF silently."""
    url = phone_url(world)
    text = url.rsplit("/", 1)[1] if where == "bare" else url
    at = {"token": len(url) - 40, "host": len("http://127.0"), "bare": 40}[where]
    response = verify(world, make_agency(world), spliced(text, at, inside))
    if (
        inside == "\x00"
    ):  # refused at the edge before the check (tests/identity/web/test_inputs.py): no verdict
        assert (response.status_code, response.json["error"]["code"]) == (400, "invalid-input")
        return
    assert response.status_code == 200
    assert (response.json["result"], response.json["subject"]) == ("invalid", {})


def test_whitespace_around_the_scanned_text_is_trimmed(world: Flask) -> None:
    """Scanners and clipboards add a newline or spaces around a code: that is still the code."""
    key = make_agency(world)
    for text in (" " + phone_url(world) + "\r\n", "\t" + phone_url(world).rsplit("/", 1)[1]):
        assert verify(world, key, text).json["result"] == "valid"


@pytest.mark.parametrize(
    "replace",
    [
        "https://elsewhere.example",
        "http://127.0.0.1:5001",
        "https://127.0.0.1:5000",
        "http://127.0.0.1:5000.elsewhere.example",
        "http://user@127.0.0.1:5000",
        "http://127.0.0.1:5000/prefix",
    ],
)
def test_a_genuine_token_under_another_address_is_invalid(world: Flask, replace: str) -> None:
    """Prevents following a URL that is not ours: only PUBLIC_URL (or a bare token) is a code."""
    url = phone_url(world)
    foreign = url.replace(world.config["PUBLIC_URL"], replace)
    assert verify(world, make_agency(world), url).json["result"] == "valid"
    response = verify(world, make_agency(world, name="Other Agency"), foreign)
    assert (response.json["result"], response.json["subject"]) == ("invalid", {})


def test_a_public_url_under_a_path_is_followed_only_under_it(world: Flask) -> None:
    world.config["PUBLIC_URL"] = "https://gov.example/hawiya"
    url = phone_url(world)
    assert url.startswith("https://gov.example/hawiya/v/")
    key = make_agency(world)
    assert verify(world, key, url).json["result"] == "valid"
    assert verify(world, key, url.replace("/hawiya/v/", "/v/")).json["result"] == "invalid"
    spelled = url.replace("https://gov.example", "HTTPS://GOV.EXAMPLE:443")
    assert verify(world, key, spelled).json["result"] == "valid"
