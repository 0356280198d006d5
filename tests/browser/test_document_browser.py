"""Checking a document in the browser: its live status, and the file compared on the device."""

import io
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, Phones
from tests.browser.test_login_browser import check_only_local_requests, keep, screenshot
from tests.factories import FATIMA, backoffice_token, make_pdf


def issue(server: LiveServer) -> tuple[dict, bytes]:
    """Issue a document through the back-office API; return its record and stamped PDF."""
    client = server.app.test_client()
    headers = {"Authorization": f"Bearer {backoffice_token(server.app)}"}
    data = {
        "civil_id": FATIMA.civil_id,
        "type": "entitlement_certificate",
        "title": "Certificate of entitlement",
        "office": "Housing Welfare Authority",
        "file": (io.BytesIO(make_pdf()), "certificate.pdf"),
    }
    record = client.post(
        "/api/v1/documents", data=data, headers=headers, content_type="multipart/form-data"
    ).json
    return record, client.get(record["pdf_url"], headers=headers).data


@pytest.mark.parametrize(
    ("query", "match", "mismatch"),
    [
        ("", "الملف مطابق تمامًا للذي أصدرناه.", "الملف يختلف عن الذي أصدرناه. ربما عُدّل."),
        ("?lang=en", "The file is exactly the one we issued.", "The file differs from the one"),
    ],
)
def test_the_verifier_compares_the_pdf_on_the_device(
    page: Page,
    live_server: LiveServer,
    phones: Phones,
    tmp_path: Path,
    query: str,
    match: str,
    mismatch: str,
) -> None:
    record, pdf = issue(live_server)
    genuine, altered = tmp_path / "genuine.pdf", tmp_path / "altered.pdf"
    genuine.write_bytes(pdf)
    changed = bytearray(pdf)
    changed[len(changed) // 2] ^= 1
    altered.write_bytes(bytes(changed))
    page.goto(f"{live_server.url}/d/{record['reference']}{query}")
    expect(page.locator("[data-verdict]")).to_have_attribute("data-verdict", "valid")
    expect(page.get_by_text(record["number"]).first).to_be_visible()
    uploads = []
    page.on(
        "request", lambda request: uploads.append(request) if request.method == "POST" else None
    )
    page.locator("[data-file]").set_input_files(str(genuine))
    expect(page.get_by_text(match)).to_be_visible()
    page.locator("[data-file]").set_input_files(str(altered))
    expect(page.get_by_text(mismatch, exact=False)).to_be_visible()
    expect(page.get_by_text(match)).to_be_hidden()
    assert uploads == []  # the file never left the device
    shot = screenshot(page, tmp_path / "document.png", page.locator("h1"))
    keep(shot, f"document-{'en' if query else 'ar'}.png")
    check_only_local_requests(page, phones, live_server)


def test_a_revoked_document_says_so_with_its_reason(page: Page, live_server: LiveServer) -> None:
    record, _pdf = issue(live_server)
    headers = {"Authorization": f"Bearer {backoffice_token(live_server.app)}"}
    live_server.app.test_client().post(
        f"/api/v1/documents/{record['id']}/revoke",
        json={"reason": "Issued in error"},
        headers=headers,
    )
    page.goto(f"{live_server.url}/d/{record['reference']}?lang=en")
    expect(page.locator("[data-verdict]")).to_have_attribute("data-verdict", "revoked")
    expect(page.get_by_text("Issued in error")).to_be_visible()
