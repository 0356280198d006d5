"""Every page leads somewhere: the front page's ways in, the header, the language link, the icon."""

import re
from io import BytesIO
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from identity import db
from identity.digital_id import credentials
from identity.documents import document_types, documents
from identity.register.beneficiaries import find
from tests.apps import https_client
from tests.factories import (
    FATIMA,
    UNKNOWN_CIVIL_ID,
    add_people,
    csrf_from,
    issue_ids,
    make_pdf,
    phone_url,
    sent_codes,
    staff_sign_in,
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


# A second code request within the cooldown


def test_a_second_request_within_the_cooldown_says_the_first_code_still_works(
    people: Flask,
) -> None:
    client = https_client(people)
    first = ask_for_code(client)
    assert "data-asked-again" not in first
    second = ask_for_code(client)
    assert "data-asked-again" in second
    assert len(sent_codes(people, FATIMA.phone)) == 1  # nothing new was sent
    code = sent_codes(people, FATIMA.phone)[-1]
    done = client.post(
        "/login/code",
        data={"txn": txn_from(second), "code": code, "csrf_token": csrf_from(second)},
    )
    assert done.status_code == 302  # the first SMS's code works on the second page


def test_the_cooldown_note_is_the_same_whether_or_not_the_register_matched(
    people: Flask,
) -> None:
    """No enumeration: the marker is set for every well-formed start, match or not."""

    def second_page(civil_id: str) -> str:
        client = https_client(people)
        ask_for_code(client, civil_id)
        page = ask_for_code(client, civil_id)
        # Only the per-request values differ: the transaction id and the form token.
        return page.replace(txn_from(page), "TXN").replace(csrf_from(page), "CSRF")

    matching, unknown = second_page(FATIMA.civil_id), second_page(UNKNOWN_CIVIL_ID)
    assert "data-asked-again" in matching
    assert matching == unknown


def test_the_cooldown_note_is_in_arabic_too(people: Flask) -> None:
    client = https_client(people)
    ask_for_code(client)
    client.get("/?lang=ar")
    page = ask_for_code(client)
    assert "ما زال صالحًا" in page


# Verdicts, the card, the scanner


def test_the_id_verdict_page_offers_scan_another(people: Flask) -> None:
    issue_ids(people, FATIMA)
    token_path = urlsplit(phone_url(people)).path
    for lang, words in (("en", "Scan another"), ("ar", "مسح هوية أخرى")):
        page = https_client(people).get(f"{token_path}?lang={lang}").text
        assert f'<a class="button" href="/scan">{words}</a>' in page


def test_the_cards_countdown_has_words_for_screen_readers(people: Flask) -> None:
    issue_ids(people, FATIMA)
    client = web_sign_in(people)
    page = client.get("/me/card?lang=en").text
    assert re.search(r'data-msg-countdown="Refreshes in \{s\} s">Refreshes in \d+ s<', page)
    assert re.search(r'aria-live="polite" aria-atomic="true">Refreshes in \d+ s<', page)
    assert "يتجدد خلال" in client.get("/me/card?lang=ar").text


def test_no_camera_is_a_calm_hint_not_an_error(app: Flask) -> None:
    page = https_client(app).get("/scan?lang=en").text
    assert 'data-msg-missing="No camera here — upload a photo of the QR below."' in page
    assert '<p class="hint calm" data-hint role="status" hidden></p>' in page


# Every page people reach, in both languages: a way on, the icon, a language link that stays


@pytest.fixture
def world(people: Flask) -> dict[str, object]:
    """A beneficiary with an ID and a document, signed in; an admin signed in to the console."""
    issue_ids(people, FATIMA)
    with people.app_context():
        session = db.session()
        person = find(session, FATIMA.civil_id)
        assert person is not None
        kind = document_types.list_types(session)[0].key
        issued = documents.issue(session, make_pdf(1), person, kind, "Statement", "HQ", "t")
        session.commit()
        reference, beneficiary_id = issued.document.reference, person.id
    staff = https_client(people)
    staff_sign_in(staff, "admin")
    return {
        "holder": web_sign_in(people),
        "staff": staff,
        "reference": reference,
        "beneficiary": beneficiary_id,
        "verdict": urlsplit(phone_url(people)).path,
        "kind": kind,
    }


def pages_of(world: dict[str, object]) -> list[tuple[str, str, int]]:
    """(who, path with query, expected status) for every GET page people reach."""
    beneficiary = world["beneficiary"]
    return [
        *(("anyone", path, 200) for path in ("/", "/login", "/login/code", "/scan", "/d")),
        ("anyone", "/d?number=HW&code=1", 200),
        ("anyone", f"/d/{world['reference']}", 200),
        ("anyone", str(world["verdict"]), 200),
        ("anyone", "/offline", 200),
        ("anyone", "/staff/login?next=/staff/audit", 200),
        ("anyone", "/no-such-page", 404),
        ("anyone", "/logout", 405),
        *(("holder", path, 200) for path in ("/me", "/me/card", "/me/documents")),
        ("holder", "/me/verifications", 200),
        ("staff", "/staff/", 200),
        ("staff", "/staff/search?q=2880", 200),
        ("staff", f"/staff/beneficiaries/{beneficiary}", 200),
        ("staff", "/staff/audit?action=login.failure&actor=x", 200),
        *(("staff", f"/staff/{name}", 200) for name in ("agencies", "keys", "staff")),
        ("staff", "/staff/document-types", 200),
        ("staff", "/staff/password", 200),
    ]


def check_ways_on(client: FlaskClient, page: str, here: str) -> None:
    """The page links onward (not only to itself) and links an icon that answers 200."""
    onward = {link for link in links(page) if urlsplit(link).path != here}
    onward.discard(language_link(page))
    assert onward, f"{here} is a dead end"
    icon = re.search(r'<link rel="icon" href="([^"]+)"', page)
    assert icon, f"{here} links no icon"
    assert client.get(icon.group(1)).status_code == 200


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_every_page_leads_on_links_the_icon_and_keeps_its_place_in_the_other_language(
    world: dict[str, object], lang: str
) -> None:
    other = "en" if lang == "ar" else "ar"
    anyone = https_client(world["holder"].application)  # type: ignore[attr-defined]
    clients = {"anyone": anyone, "holder": world["holder"], "staff": world["staff"]}
    for who, address, status in pages_of(world):
        client: FlaskClient = clients[who]  # type: ignore[assignment]
        split = urlsplit(address)
        query = [*parse_qsl(split.query), ("lang", lang)]
        response = client.get(f"{split.path}?{urlencode(query)}")
        assert response.status_code == status, (address, response.status_code)
        assert f'<html lang="{lang}"' in response.text, address
        check_ways_on(client, response.text, split.path)
        link = urlsplit(language_link(response.text))
        assert link.path == split.path, address
        assert parse_qsl(link.query) == [*parse_qsl(split.query), ("lang", other)], address
        again = client.get(language_link(response.text))
        assert again.status_code == status and f'<html lang="{other}"' in again.text, address


def test_pages_a_post_rendered_switch_language_to_a_page_not_a_405(
    world: dict[str, object],
) -> None:
    staff: FlaskClient = world["staff"]  # type: ignore[assignment]
    app = staff.application
    beneficiary = world["beneficiary"]
    with app.app_context():
        credential = credentials.current(db.session(), int(beneficiary))  # type: ignore[arg-type]
        assert credential is not None
        credential_id = credential.id
    token = csrf_from(staff.get("/staff/").text)
    refused = staff.post(
        f"/staff/credentials/{credential_id}/suspend?lang=en",
        data={"reason": "", "csrf_token": token},
    )
    assert refused.status_code == 400
    issued = staff.post(
        f"/staff/beneficiaries/{beneficiary}/documents?lang=en",
        data={
            "csrf_token": token, "type": world["kind"], "title": "Statement", "office": "HQ",
            "file": (BytesIO(make_pdf(1)), "a.pdf"),
        },
        content_type="multipart/form-data",
    )  # fmt: skip
    assert issued.status_code == 200
    # Both lead back to the beneficiary's page, in the other language.
    for page in (refused.text, issued.text):
        assert urlsplit(language_link(page)).path == f"/staff/beneficiaries/{beneficiary}"
    # The issued document's code is shown once: its language link opens beside it, in a new tab.
    assert re.search(r'<a class="lang"[^>]*target="_blank" rel="noopener"', issued.text)
    assert not re.search(r'<a class="lang"[^>]*target=', refused.text)
    anyone = https_client(app)
    code_page = ask_for_code(anyone, UNKNOWN_CIVIL_ID)
    wrong = anyone.post(
        "/login/code",
        data={"txn": txn_from(code_page), "code": "123456", "csrf_token": csrf_from(code_page)},
    )
    for client, page in ((staff, refused.text), (staff, issued.text), (anyone, code_page),
                         (anyone, wrong.text)):  # fmt: skip
        check_ways_on(client, page, "")
        switched = client.get(language_link(page))
        assert switched.status_code == 200, language_link(page)
