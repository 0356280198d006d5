"""The whole journey in Chromium, as the people do it, in Arabic and in English.

A beneficiary signs in on her phone with the code from the SMS and shows her card; at another
agency's counter the clerk photographs the phone's screen and uploads it at /scan: valid. At the
issuing agency a member of staff signs in to the console with password and TOTP, revokes the
ID with a reason, and issues her a stamped document. The clerk uploads the same photo again:
revoked; then a photo of the stamped document's first page: a valid document. Back on her phone
she reads who checked her.
"""

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pypdfium2
import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from tests.browser.conftest import LiveServer, Phones
from tests.browser.test_card_browser import sign_in
from tests.browser.test_login_browser import keep
from tests.factories import FATIMA, make_pdf, make_staff

NEW_PASSWORD = "a sentence only the clerk knows"


@dataclass(frozen=True)
class Words:
    """What the people read, in one language."""

    lang: str
    query: str
    locale: str
    name: str
    valid: str
    revoked: str
    revoked_notice: str
    issued: str
    history: str


ARABIC = Words("ar", "", "ar-KW", FATIMA.full_name_ar, "صالحة", "ملغاة",
               "تم إلغاء الهوية الرقمية.", "صدر المستند", "من تحقق من هويتي")  # fmt: skip
ENGLISH = Words("en", "?lang=en", "en-US", FATIMA.full_name_en, "Valid", "Revoked",
                "The digital ID was revoked.", "Document issued", "Who checked my ID")  # fmt: skip


@pytest.fixture
def desks(browser: Browser) -> Iterator[Browser]:
    """The office computers: each test opens its own contexts on the shared browser."""
    yield browser


def desk(browser: Browser, locale: str) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale=locale)
    context.set_default_timeout(10_000)
    return context.new_page()


def photo(name: str, data: bytes) -> FilePayload:
    return {"name": name, "mimeType": "image/png", "buffer": data}


def scan_photo(counter: Page, server: LiveServer, words: Words, picture: bytes) -> None:
    """The clerk uploads a photo of a code at the scanner and lands on its verdict page."""
    counter.goto(f"{server.url}/scan{words.query}")
    counter.locator("input[type=file]").set_input_files(files=photo("code.png", picture))
    counter.locator("form[data-upload] button[type=submit]").click()
    expect(counter).to_have_url(re.compile(re.escape(server.url) + r"/(v|d)/"))


def console_sign_in(page: Page, server: LiveServer, words: Words) -> None:
    """A new issuer signs in with the printed password and a TOTP code, then chooses a password."""
    username, password, secret = make_staff(server.app, "issuer")
    page.goto(f"{server.url}/staff/login{words.query}")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("#code").fill(pyotp.TOTP(secret).now())
    page.locator("form button[type=submit]").click()
    page.locator("#current").fill(password)
    page.locator("#new").fill(NEW_PASSWORD)
    page.locator("#repeat").fill(NEW_PASSWORD)
    page.locator("#repeat").press("Enter")
    expect(page).to_have_url(re.compile(re.escape(f"{server.url}/staff/")))


def first_page_png(pdf: bytes) -> bytes:
    """A photo of the document's first page, as the clerk's camera would take it."""
    image = pypdfium2.PdfDocument(pdf)[0].render(scale=150 / 72).to_pil()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("words", [ARABIC, ENGLISH], ids=["ar", "en"])
def test_sign_in_show_scan_revoke_scan_document_and_who_checked_me(
    live_server: LiveServer, phones: Phones, desks: Browser, tmp_path: Path, words: Words
) -> None:
    server = live_server
    phone = phones.open(words.locale)
    counter = desk(desks, words.locale)
    office = desk(desks, words.locale)

    # On her phone: sign in with the code from the SMS, open the card.
    sign_in(phone, server, words.query)
    phone.goto(f"{server.url}/me/card{words.query}")
    expect(phone.locator("[data-qr] svg")).to_be_visible()
    expect(phone.get_by_text(words.name).first).to_be_visible()
    screen = phone.screenshot()
    keep_shot(phone, tmp_path, f"journey-card-{words.lang}.png")

    # At the counter: a photo of her screen, uploaded at /scan.
    scan_photo(counter, server, words, screen)
    expect(counter.locator("[data-verdict]")).to_have_attribute("data-verdict", "valid")
    expect(counter.get_by_role("heading", level=1)).to_have_text(words.valid)

    # At the issuing agency: the console, the beneficiary, revoke with a reason.
    console_sign_in(office, server, words)
    office.goto(f"{server.url}/staff/search?q={FATIMA.civil_id}&lang={words.lang}")
    office.get_by_role("link", name=words.name).click()
    office.locator("[data-danger-zone] a.danger").click()  # revoke asks first: it is for good
    office.locator("#reason").fill("Reported lost and misused")
    office.locator("form.form input[name=confirm]").check()
    office.locator("form.form button.danger").click()
    expect(office.get_by_role("status")).to_have_text(words.revoked_notice)

    # … and a stamped document for her, issued from an uploaded PDF.
    office.locator("#file").set_input_files(
        files={"name": "letter.pdf", "mimeType": "application/pdf", "buffer": make_pdf(2)}
    )
    office.locator("#title").fill("Housing file statement")
    office.locator("#office").fill("Housing Welfare Authority")
    office.locator("form[enctype] button[type=submit]").click()
    expect(office.locator("h1")).to_have_text(words.issued)
    with office.expect_download() as download:
        office.locator("a[href*='/pdf']").click()
    stamped = Path(download.value.path()).read_bytes()
    keep_shot(office, tmp_path, f"journey-document-issued-{words.lang}.png")

    # At the counter again: the same photo of her card now says revoked …
    scan_photo(counter, server, words, screen)
    expect(counter.locator("[data-verdict]")).to_have_attribute("data-verdict", "revoked")
    expect(counter.get_by_role("heading", level=1)).to_have_text(words.revoked)
    # … and a photo of the stamped letter's first page opens a valid document.
    scan_photo(counter, server, words, first_page_png(stamped))
    expect(counter).to_have_url(re.compile(re.escape(server.url) + "/d/"))
    expect(counter.locator("[data-verdict]")).to_have_attribute("data-verdict", "valid")
    keep_shot(counter, tmp_path, f"journey-document-check-{words.lang}.png")

    # On her phone: who checked her, newest first: the document, the revoked ID, the valid ID.
    phone.goto(f"{server.url}/me/verifications{words.query}")
    expect(phone.locator("h1")).to_have_text(words.history)
    results = phone.locator("table.history tbody tr td:last-child").all_inner_texts()
    assert results == [words.valid, words.revoked, words.valid], results
    keep_shot(phone, tmp_path, f"journey-who-checked-me-{words.lang}.png")


def keep_shot(page: Page, tmp_path: Path, name: str) -> None:
    """Save a screenshot for people to look at (the other browser tests check theirs closely)."""
    path = tmp_path / name
    page.screenshot(path=path)
    keep(path, name)
