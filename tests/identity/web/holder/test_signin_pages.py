"""The sign-in pages: CSRF, `__Host-` session cookies, renewal, timeouts, languages."""

import re
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from identity.signin import sessions
from tests.apps import https_client
from tests.factories import (
    FATIMA,
    UNKNOWN_CIVIL_ID,
    add_people,
    csrf_from,
    sent_codes,
    txn_from,
    use_fake_clock,
)


@pytest.fixture
def people(app: Flask) -> Flask:
    add_people(app, FATIMA)
    return app


def ask_for_code(client: FlaskClient, civil_id: str, file_number: str):
    token = csrf_from(client.get("/login").text)
    return client.post(
        "/login", data={"civil_id": civil_id, "file_number": file_number, "csrf_token": token}
    )


def sign_in(app: Flask, client: FlaskClient):
    page = ask_for_code(client, FATIMA.civil_id, FATIMA.file_number)
    code = sent_codes(app, FATIMA.phone)[-1]
    return client.post(
        "/login/code",
        data={"txn": txn_from(page.text), "code": code, "csrf_token": csrf_from(page.text)},
    )


def session_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(sessions.COOKIE)
    return cookie.value if cookie else None


def test_sign_in_and_out_in_the_browser(people: Flask) -> None:
    client = https_client(people)
    signed_in = sign_in(people, client)
    assert signed_in.status_code == 302 and signed_in.location.endswith("/me")
    set_cookie = signed_in.headers["Set-Cookie"]
    assert set_cookie.startswith("__Host-hawiya=")
    for attribute in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in set_cookie
    assert "Domain" not in set_cookie
    me = client.get("/me")
    assert me.status_code == 200 and FATIMA.full_name_ar in me.text
    assert me.headers["Cache-Control"] == "no-store"
    token = session_cookie(client)
    out = client.post("/logout", data={"csrf_token": csrf_from(me.text)})
    assert out.status_code == 302
    assert client.get("/me").status_code == 302
    # The old cookie replayed after sign-out is worth nothing: the session was destroyed.
    client.set_cookie(sessions.COOKIE, token or "", domain="localhost")
    assert client.get("/me").status_code == 302


def test_the_code_page_is_the_same_whether_or_not_the_register_matched(people: Flask) -> None:
    """Prevents telling from the page whether a civil ID exists or the file number matches."""

    def page(civil_id: str, file_number: str) -> tuple[int, str]:
        response = ask_for_code(https_client(people), civil_id, file_number)
        text = re.sub(r'value="[^"]+"', 'value=""', response.text)
        return response.status_code, text

    # A second start for a civil ID within the cooldown says so, match or not: compare the
    # first starts with each other, and the second starts with each other.
    real = page(FATIMA.civil_id, FATIMA.file_number)
    assert real == page(UNKNOWN_CIVIL_ID, FATIMA.file_number)
    assert "المسجل لدينا" in real[1]
    assert page(FATIMA.civil_id, "999") == page(UNKNOWN_CIVIL_ID, FATIMA.file_number)


def test_a_form_without_its_csrf_token_is_refused(people: Flask) -> None:
    client = https_client(people)
    client.get("/login")
    response = client.post(
        "/login", data={"civil_id": FATIMA.civil_id, "file_number": FATIMA.file_number}
    )
    assert response.status_code == 400
    assert sent_codes(people, FATIMA.phone) == []


def test_a_csrf_token_from_another_browser_is_refused(people: Flask) -> None:
    attacker, victim = https_client(people), https_client(people)
    token = csrf_from(attacker.get("/login").text)
    victim.get("/login")
    response = victim.post(
        "/login",
        data={"civil_id": FATIMA.civil_id, "file_number": FATIMA.file_number, "csrf_token": token},
    )
    assert response.status_code == 400


def test_logout_needs_the_csrf_token(people: Flask) -> None:
    client = https_client(people)
    sign_in(people, client)
    assert client.post("/logout").status_code == 400
    assert client.get("/me").status_code == 200


def test_sign_in_renews_the_session_token(people: Flask) -> None:
    """Prevents session fixation: a token planted before sign-in is never the signed-in one."""
    client = https_client(people)
    client.set_cookie(sessions.COOKIE, "planted-by-someone-else", domain="localhost")
    sign_in(people, client)
    assert session_cookie(client) not in (None, "planted-by-someone-else")


def test_a_wrong_code_shows_the_page_again_with_a_message(people: Flask) -> None:
    client = https_client(people)
    page = ask_for_code(client, FATIMA.civil_id, FATIMA.file_number)
    code = sent_codes(people, FATIMA.phone)[-1]
    response = client.post(
        "/login/code",
        data={
            "txn": txn_from(page.text),
            "code": f"{(int(code) + 1) % 10**6:06d}",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 400
    assert "الرمز غير صحيح" in response.text
    assert session_cookie(client) is None


def test_a_bad_civil_id_is_explained_on_the_form(people: Flask) -> None:
    response = ask_for_code(https_client(people), "12345", "1")
    assert response.status_code == 400
    assert 'role="alert"' in response.text
    assert "<script" not in response.text


def test_reflected_input_is_escaped(people: Flask) -> None:
    response = ask_for_code(https_client(people), "<script>alert(1)</script>", '"><img>')
    assert "<script>alert(1)" not in response.text
    assert "&lt;script&gt;" in response.text


def test_idle_sessions_end_after_15_minutes(people: Flask) -> None:
    clock = use_fake_clock(people)
    client = https_client(people)
    sign_in(people, client)
    clock.advance(14 * 60)
    assert client.get("/me").status_code == 200
    clock.advance(14 * 60)
    assert client.get("/me").status_code == 200  # use keeps it alive
    clock.advance(15 * 60 + 1)
    assert client.get("/me").status_code == 302


def test_sessions_end_12_hours_after_sign_in_even_in_use(
    people: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = https_client(people)
    sign_in(people, client)
    started = time.time()
    monkeypatch.setattr(sessions.time, "time", lambda: started + 12 * 3600 + 1)
    assert client.get("/me").status_code == 302


def test_an_api_token_does_not_open_the_web_pages(people: Flask) -> None:
    from tests.factories import api_sign_in

    token = api_sign_in(people)
    client = https_client(people)
    client.set_cookie(sessions.COOKIE, token, domain="localhost")
    assert client.get("/me").status_code == 302


def test_the_login_page_in_arabic_and_english(people: Flask) -> None:
    client = https_client(people)
    arabic = client.get("/login")
    assert 'dir="rtl"' in arabic.text and "الرقم المدني" in arabic.text
    english = client.get("/login?lang=en")
    assert 'dir="ltr"' in english.text and "Civil ID" in english.text
