"""Every page leads somewhere: the front page's ways in, the header, the language link, the icon."""

import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.apps import https_client
from tests.factories import (
    FATIMA,
    add_people,
    csrf_from,
    issue_ids,
    sent_codes,
    txn_from,
    web_sign_in,
)

LANG_LINK = re.compile(r'<a class="lang" href="([^"]+)"')


def language_link(page: str) -> str:
    found = LANG_LINK.search(page)
    assert found, "the page has no language link"
    return found.group(1).replace("&amp;", "&")


def links(page: str) -> set[str]:
    return {href.replace("&amp;", "&") for href in re.findall(r'<a [^>]*href="([^"]+)"', page)}


@pytest.fixture
def people(app: Flask) -> Flask:
    add_people(app, FATIMA)
    return app


def ask_for_code(client: FlaskClient, civil_id: str = FATIMA.civil_id) -> str:
    token = csrf_from(client.get("/login").text)
    page = client.post(
        "/login",
        data={"civil_id": civil_id, "file_number": FATIMA.file_number, "csrf_token": token},
    )
    assert page.status_code == 200
    return page.text


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_front_page_leads_every_role_on(app: Flask, lang: str) -> None:
    page = https_client(app).get(f"/?lang={lang}").text
    for target in ("/login", "/scan", "/d", "/staff/", "/api/docs"):
        assert target in links(page), target
    assert "/me/card" not in links(page)


def test_the_front_page_words_in_english(app: Flask) -> None:
    page = https_client(app).get("/?lang=en").text
    words_shown = (
        "Sign in",
        "Scan an ID",
        "Check a document",
        "Staff console",
        "API documentation",
    )
    for words in words_shown:
        assert f">{words}</a>" in page, words


def test_a_signed_in_beneficiary_sees_their_card_account_and_sign_out(people: Flask) -> None:
    issue_ids(people, FATIMA)
    client = web_sign_in(people)
    for path in ("/?lang=en", "/me/card?lang=en", "/me/documents?lang=en"):
        page = client.get(path).text
        assert f'<a class="account" href="/me">{FATIMA.full_name_en}</a>' in page, path
        assert 'action="/logout"' in page and ">Sign out</button>" in page, path
    assert "/me/card" in links(client.get("/?lang=en").text)
    signed_out = client.post("/logout", data={"csrf_token": csrf_from(client.get("/").text)})
    assert signed_out.status_code == 302
    assert 'class="account"' not in client.get("/").text


def test_the_language_link_keeps_the_path_and_the_query(app: Flask) -> None:
    page = https_client(app).get("/d?lang=en&reference=HW-1&x=%D8%B9").text
    link = urlsplit(language_link(page))
    assert link.path == "/d"
    assert parse_qsl(link.query) == [("reference", "HW-1"), ("x", "ع"), ("lang", "ar")]


def test_a_language_switch_on_the_code_page_keeps_the_sign_in(people: Flask) -> None:
    client = https_client(people)
    page = ask_for_code(client)
    assert language_link(page).startswith("/login/code?")
    txn = txn_from(page)
    assert txn not in language_link(page)
    switched = client.get(language_link(page))
    assert switched.status_code == 200
    assert txn_from(switched.text) == txn  # from the short-lived cookie, not the address
    code = sent_codes(people, FATIMA.phone)[-1]
    done = client.post(
        "/login/code",
        data={"txn": txn_from(switched.text), "code": code, "csrf_token": csrf_from(switched.text)},
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/me")
    # The sign-in is over: the code page now says to start again.
    again = https_client(people).get("/login/code")
    assert again.status_code == 200 and 'name="txn"' not in again.text
    assert 'href="/login"' in again.text


def test_a_language_switch_after_a_wrong_code_keeps_the_sign_in(people: Flask) -> None:
    client = https_client(people)
    page = ask_for_code(client)
    wrong = client.post(
        "/login/code",
        data={"txn": txn_from(page), "code": "000000", "csrf_token": csrf_from(page)},
    )
    assert wrong.status_code == 400
    switched = client.get(language_link(wrong.text))
    assert switched.status_code == 200
    assert txn_from(switched.text) == txn_from(page)
    code = sent_codes(people, FATIMA.phone)[-1]
    done = client.post(
        "/login/code", data={"txn": txn_from(page), "code": code, "csrf_token": csrf_from(page)}
    )
    assert done.status_code == 302


def test_the_code_page_without_a_sign_in_says_start_again(app: Flask) -> None:
    for lang in ("ar", "en"):
        page = https_client(app).get(f"/login/code?lang={lang}")
        assert page.status_code == 200
        assert 'name="txn"' not in page.text and 'href="/login"' in page.text


def test_the_icon_is_linked_and_answers(app: Flask) -> None:
    client = https_client(app)
    page = client.get("/").text
    icon = re.search(r'<link rel="icon" href="([^"]+)"', page)
    assert icon and client.get(icon.group(1)).status_code == 200
    root = client.get("/favicon.ico")
    assert root.status_code == 200 and root.data[:4] == b"\x00\x00\x01\x00"
