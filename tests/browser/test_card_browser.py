"""The ID card on a phone: its QR scans as valid, it refreshes itself, and offline it says so."""

import io
from pathlib import Path

import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, Phones
from tests.browser.test_login_browser import check_only_local_requests, keep, screenshot
from tests.factories import FATIMA, sent_codes


def sign_in(page: Page, server: LiveServer, query: str = "") -> None:
    """Sign in as Fatima through the pages, as a person does."""
    page.goto(f"{server.url}/login{query}")
    page.locator("#civil_id").fill(FATIMA.civil_id)
    page.locator("#file_number").fill(FATIMA.file_number)
    page.locator("form button[type=submit]").tap()
    expect(page.locator("#code")).to_be_visible()
    page.locator("#code").fill(sent_codes(server.app, FATIMA.phone)[-1])
    page.locator("form button[type=submit]").tap()
    expect(page).to_have_url(f"{server.url}/me")


def scanned_url(page: Page) -> str:
    """Photograph the phone's screen and read the QR on it, as a verifier's camera would."""
    [barcode] = zxingcpp.read_barcodes(Image.open(io.BytesIO(page.screenshot())))
    return barcode.text


def test_the_card_shows_a_qr_that_scans_as_valid_in_arabic_and_english(
    page: Page, live_server: LiveServer, phones: Phones, tmp_path: Path
) -> None:
    sign_in(page, live_server)
    for query, name in (("", FATIMA.full_name_ar), ("?lang=en", FATIMA.full_name_en)):
        page.goto(f"{live_server.url}/me/card{query}")
        expect(page.locator("[data-qr] svg")).to_be_visible()
        expect(page.get_by_text(name).first).to_be_visible()
        shot = screenshot(page, tmp_path / f"card{query[-2:] or 'ar'}.png", page.locator("h1"))
        keep(shot, f"card-{'en' if query else 'ar'}.png")
        url = scanned_url(page)
        verifier = phones.open("en-US")
        verifier.goto(url.replace(live_server.app.config["PUBLIC_URL"], live_server.url))
        expect(verifier.locator("[data-verdict]")).to_have_attribute("data-verdict", "valid")
    check_only_local_requests(page, phones, live_server)


def test_the_qr_refreshes_itself_and_offline_it_says_a_connection_is_needed(
    page: Page, live_server: LiveServer
) -> None:
    live_server.app.config["QR_TTL"] = 13  # the page fetches a new QR 10 s before expiry
    sign_in(page, live_server, "?lang=en")
    page.goto(f"{live_server.url}/me/card")
    first = scanned_url(page)
    expect(page.locator("[data-card]")).to_have_attribute("data-refreshed", "1", timeout=10_000)
    assert scanned_url(page) != first
    page.context.set_offline(True)
    expect(page.locator("[data-offline]")).to_be_visible(timeout=15_000)
    expect(page.locator("[data-qr] svg")).to_be_visible()  # still shown until it expires
    expect(page.locator("[data-expired]")).to_be_visible(timeout=20_000)
    expect(page.locator("[data-qr]")).to_be_hidden()
    page.context.set_offline(False)
    expect(page.locator("[data-qr] svg")).to_be_visible(timeout=15_000)
    expect(page.locator("[data-expired]")).to_be_hidden()
