"""The staff console in Chromium: sign in with password and TOTP, search, revoke, both languages."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, expect

from identity import db
from identity.digital_id import credentials
from identity.register.beneficiaries import find
from tests.browser.conftest import LiveServer
from tests.browser.test_login_browser import keep
from tests.factories import FATIMA, make_staff

DESK_WIDTH, DESK_HEIGHT = 1280, 800


@dataclass(frozen=True)
class Words:
    """What a member of staff reads, in one language."""

    query: str
    dir: str
    sign_in: str
    choose: str
    save: str
    dashboard: str
    search: str
    reason: str
    revoke: str
    revoked: str
    sign_out: str
    name: str


ARABIC = Words(
    "", "rtl", "تسجيل الدخول", "اختر كلمة المرور", "احفظ كلمة المرور", "لوحة المتابعة",
    "بحث", "السبب (مطلوب)", "إلغاء", "تم إلغاء الهوية الرقمية.", "تسجيل الخروج",
    FATIMA.full_name_ar,
)  # fmt: skip
ENGLISH = Words(
    "?lang=en", "ltr", "Sign in", "Choose your password", "Save the password", "Dashboard",
    "Search", "Reason (required)", "Revoke", "The digital ID was revoked.", "Sign out",
    FATIMA.full_name_en,
)  # fmt: skip


@pytest.fixture
def desk(browser: Browser) -> Iterator[Page]:
    """A page on an office computer's screen (the console is used at a desk)."""
    context = browser.new_context(viewport={"width": DESK_WIDTH, "height": DESK_HEIGHT})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def screenshot(page: Page, path: Path, heading: Locator, direction: str) -> Path:
    """Take a screenshot; check it is not blank, the heading is drawn and sits on its side."""
    page.evaluate("document.fonts.ready")
    page.screenshot(path=path)
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    assert rgb.size == (DESK_WIDTH, DESK_HEIGHT)
    assert rgb.getcolors(maxcolors=1) is None, "the screenshot is a single colour"
    box = heading.bounding_box()
    main = page.locator("main").bounding_box()
    assert box is not None and main is not None
    area = rgb.crop(
        (int(box["x"]), int(box["y"]), int(box["x"] + box["width"]), int(box["y"] + box["height"]))
    )
    dark = sum(area.convert("L").histogram()[:128])
    assert dark > 0.02 * area.width * area.height, f"the heading area looks empty ({dark} px)"
    # Right to left in Arabic: the heading's text starts at the right edge of the page body.
    text_box = heading.evaluate(
        "h => { const r = document.createRange(); r.selectNodeContents(h);"
        " const b = r.getBoundingClientRect(); return [b.left, b.right]; }"
    )
    if direction == "rtl":
        assert text_box[1] > main["x"] + main["width"] * 0.7, text_box
    else:
        assert text_box[0] < main["x"] + main["width"] * 0.3, text_box
    return path


@pytest.mark.parametrize("words", [ARABIC, ENGLISH], ids=["ar", "en"])
def test_sign_in_search_and_revoke(
    desk: Page, live_server: LiveServer, tmp_path: Path, words: Words
) -> None:
    app = live_server.app
    with app.app_context():
        person = find(db.session(), FATIMA.civil_id)
        assert person is not None
        credentials.issue(db.session(), person, "test")
        db.session().commit()
    username, password, secret = make_staff(app, "issuer")
    lang = "en" if words.query else "ar"

    desk.goto(f"{live_server.url}/staff/login{words.query}")
    expect(desk.locator("html")).to_have_attribute("dir", words.dir)
    desk.locator("#username").fill(username)
    desk.locator("#password").fill(password)
    desk.locator("#code").fill(pyotp.TOTP(secret).now())
    shot = screenshot(desk, tmp_path / "login.png", desk.locator("h1"), words.dir)
    keep(shot, f"console-login-{lang}.png")
    desk.get_by_role("button", name=words.sign_in).click()
    # The printed password works once: the console first asks for one of the user's own.
    expect(desk.locator("h1")).to_have_text(words.choose)
    desk.locator("#current").fill(password)
    desk.locator("#new").fill("a sentence only I know")
    desk.locator("#repeat").fill("a sentence only I know")
    desk.get_by_role("button", name=words.save).click()
    expect(desk.locator("h1")).to_have_text(words.dashboard)
    cookie = next(c for c in desk.context.cookies() if c["name"] == "__Host-hawiya-staff")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    shot = screenshot(desk, tmp_path / "dashboard.png", desk.locator("h1"), words.dir)
    keep(shot, f"console-dashboard-{lang}.png")

    desk.locator("nav.console-nav a").nth(1).click()
    desk.locator("#q").fill("٢٨٨٠٢٠١٢٢٥٩٦")  # the civil ID typed in Arabic-Indic digits
    desk.get_by_role("button", name=words.search).click()
    desk.get_by_role("link", name=words.name).click()
    expect(desk.locator("h1")).to_have_text(words.name)
    expect(desk.locator("[data-credential-status]")).to_have_attribute(
        "data-credential-status", "active"
    )

    # Revoke is apart from suspend, and asks first: it cannot be undone.
    shot = screenshot(desk, tmp_path / "beneficiary.png", desk.locator("h1"), words.dir)
    keep(shot, f"console-beneficiary-active-{lang}.png")
    desk.locator("[data-danger-zone] a.danger").click()
    expect(desk.locator("[data-permanent]")).to_be_visible()
    expect(desk.locator("[data-beneficiary]")).to_contain_text(words.name)
    shot = screenshot(desk, tmp_path / "revoke.png", desk.locator("h1"), words.dir)
    keep(shot, f"console-revoke-confirm-{lang}.png")
    # The reason and the tick are required: the browser itself refuses the form without them.
    desk.locator("form.form button.danger").click()
    expect(desk.locator("[data-permanent]")).to_be_visible()
    desk.get_by_label(words.reason).fill("Reported lost and misused")
    desk.locator("form.form input[name=confirm]").check()
    desk.locator("form.form button.danger").click()
    expect(desk.get_by_role("status")).to_have_text(words.revoked)
    expect(desk.locator("[data-credential-status]")).to_have_attribute(
        "data-credential-status", "revoked"
    )
    shot = screenshot(desk, tmp_path / "beneficiary.png", desk.locator("h1"), words.dir)
    keep(shot, f"console-beneficiary-{lang}.png")
    with app.app_context():
        assert credentials.current(db.session(), person.id).status == "revoked"  # type: ignore[union-attr]

    # The audit log says it in words: the action, the staff member, the details.
    desk.goto(f"{live_server.url}/staff/audit{words.query}")
    expect(desk.locator("[data-action='credential.revoke']").first).to_be_visible()
    assert "credential.revoke" not in desk.locator("table.audit").inner_text()
    shot = screenshot(desk, tmp_path / "audit.png", desk.locator("h1"), words.dir)
    keep(shot, f"console-audit-{lang}.png")

    desk.get_by_role("button", name=words.sign_out).click()
    expect(desk.locator("#username")).to_be_visible()
    desk.goto(f"{live_server.url}/staff/")
    expect(desk.locator("#username")).to_be_visible()  # signed out: back at the login
