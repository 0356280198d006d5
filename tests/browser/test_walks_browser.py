"""Each role walks from `/` to its goal in Chromium, clicking only what the pages show.

A beneficiary signs in (switching language on every step of the sign-in), opens her card, her
documents and who checked her, and signs out from the header; a counter clerk scans an ID from a
photo and a document by its number and code; an administrator signs in to the console and
suspends and reinstates an ID, then reads the audit log; a developer opens the API documentation.
Each walk runs in Arabic and in English, on a phone and at a desk. Every page visited is kept as
a screenshot (and its text, beside it) in /tmp/hawiya-screens/walks/, for people to look at.
"""

import io
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pyotp
import pytest
from PIL import Image
from playwright.sync_api import Locator, expect

from identity import qr
from tests.browser.conftest import LiveServer, Phones
from tests.browser.test_document_browser import issue
from tests.browser.test_login_browser import SCREENS, check_only_local_requests, session_cookie
from tests.factories import FATIMA, issue_ids, make_staff, phone_url, sent_codes

WALKS = SCREENS / "walks"  # outside the repository
DESK_ROLES = {"admin", "developer"}  # their pages may be wider than a phone: noted, not failed
NEW_PASSWORD = "a sentence only the administrator knows"


@dataclass(frozen=True)
class Words:
    """What people read on the way, in one language."""

    lang: str
    dir: str
    # The front page's ways on.
    sign_in: str
    scan_id: str
    check_document: str
    staff_console: str
    api_docs: str
    # Signing in, and the beneficiary's pages.
    civil_id: str
    file_number: str
    send: str
    enter_code: str
    code: str
    name: str
    my_id: str
    my_documents: str
    who_checked: str
    my_account: str
    sign_out: str
    # At the counter.
    scan_heading: str
    photo: str
    check_photo: str
    valid: str
    scan_another: str
    number: str
    verification_code: str
    check: str
    genuine: str
    check_another: str
    # In the console.
    staff_sign_in: str
    choose_password: str
    dashboard: str
    beneficiaries: str
    search: str
    reason: str
    suspend: str
    suspended: str
    reinstate: str
    reinstated: str
    audit_log: str
    filter: str


ARABIC = Words(
    "ar", "rtl",
    "تسجيل الدخول", "مسح هوية", "التحقق من مستند", "لوحة الموظفين", "توثيق الواجهة البرمجية",
    "الرقم المدني", "رقم الملف", "أرسل لي رمزًا", "أدخل الرمز", "الرمز", FATIMA.full_name_ar,
    "هويتي الرقمية", "مستنداتي", "من تحقق من هويتي", "حسابي", "تسجيل الخروج",
    "امسح رمز الاستجابة السريعة", "صورة الرمز", "تحقق من الصورة", "صالحة", "مسح هوية أخرى",
    "رقم المستند", "رمز التحقق", "تحقق", "أصلي وساري المفعول", "التحقق من مستند آخر",
    "دخول الموظفين", "اختر كلمة المرور", "لوحة المتابعة", "المستفيدون", "بحث", "السبب (مطلوب)",
    "إيقاف", "تم إيقاف الهوية الرقمية.", "إعادة التفعيل", "تمت إعادة تفعيل الهوية الرقمية.",
    "سجل التدقيق", "تصفية",
)  # fmt: skip
ENGLISH = Words(
    "en", "ltr",
    "Sign in", "Scan an ID", "Check a document", "Staff console", "API documentation",
    "Civil ID", "File number", "Send me a code", "Enter your code", "Code", FATIMA.full_name_en,
    "My digital ID", "My documents", "Who checked my ID", "My account", "Sign out",
    "Scan a QR code", "Photo of the QR code", "Check the photo", "Valid", "Scan another",
    "Document number", "Verification code", "Check", "Genuine and in force",
    "Check another document",
    "Staff sign-in", "Choose your password", "Dashboard", "Beneficiaries", "Search",
    "Reason (required)", "Suspend", "The digital ID was suspended.", "Reinstate",
    "The digital ID was reinstated.", "Audit log", "Filter",
)  # fmt: skip
OTHER = {"ar": ENGLISH, "en": ARABIC}


class Walk:
    """One person's walk: the page, the languages, and the screenshots of every page visited."""

    def __init__(
        self, role: str, start: Words, device: str, phones: Phones, server: LiveServer
    ) -> None:
        self.role, self.start, self.device = role, start, device
        self.phones, self.server = phones, server
        locale = "ar-KW" if start.lang == "ar" else "en-US"
        self.page = phones.open(locale) if device == "phone" else phones.open_desk(locale)
        self.words = start  # the language the pages are in now
        self.step = 0
        self.too_wide = WALKS / f"{role}-{start.lang}-{device}-too-wide.txt"
        self.too_wide.unlink(missing_ok=True)

    @property
    def main(self) -> Locator:
        return self.page.locator("main")

    def url(self, path: str) -> str:
        return self.server.url + path

    def shoot(self, name: str) -> Path:
        """Keep a screenshot of the whole page (and its text beside it); check it was drawn.

        A page for beneficiaries and verifiers must fit the screen's width (no sideways
        scrolling). The console and the API documentation are read at a desk: on a phone their
        tables may be wider, which is noted in <role>-<lang>-<device>-too-wide.txt beside the
        screenshots for people to judge, not failed.
        """
        self.step += 1
        WALKS.mkdir(parents=True, exist_ok=True)
        stem = f"{self.role}-{self.start.lang}-{self.device}-{self.step:02d}-{name}"
        path = WALKS / f"{stem}.png"
        self.page.evaluate("document.fonts.ready")
        self.page.screenshot(path=path, full_page=True)
        (WALKS / f"{stem}.txt").write_text(
            f"{self.page.url} lang={self.words.lang}\n\n{self.page.locator('body').inner_text()}\n",
            encoding="utf-8",
        )
        viewport = self.page.viewport_size
        assert viewport is not None
        scale = self.page.evaluate("window.devicePixelRatio")
        width = self.page.evaluate("document.documentElement.scrollWidth")
        with Image.open(path) as image:
            rgb = image.convert("RGB")
        assert rgb.width == width * scale, (rgb.size, width)
        assert rgb.getcolors(maxcolors=1) is None, f"{path} is a single colour"
        if width > viewport["width"]:
            wide = f"{path.name}: {width} px wide on a {viewport['width']} px screen"
            if self.role not in DESK_ROLES:
                pytest.fail(wide)
            with self.too_wide.open("a", encoding="utf-8") as notes:
                notes.write(wide + "\n")
        return path

    def check_language(self, words: Words) -> None:
        html = self.page.locator("html")
        expect(html).to_have_attribute("lang", words.lang)
        expect(html).to_have_attribute("dir", words.dir)

    def switch_language(self, path: str | None = None) -> None:
        """Click the header's language link: the same page, its query kept, in the other one.

        `path` is where a page that a POST rendered is reached again by GET (the code page).
        """
        before = urlsplit(self.page.url)
        query = [pair for pair in parse_qsl(before.query) if pair[0] != "lang"]
        words = OTHER[self.words.lang]
        link = self.page.locator("header.site a.lang")
        expect(link).to_have_attribute("hreflang", words.lang)
        self.press(link)
        self.check_language(words)
        after = urlsplit(self.page.url)
        assert after.path == (path or before.path), (before, after)
        assert [pair for pair in parse_qsl(after.query) if pair[0] != "lang"] == query
        self.words = words

    def open_home(self) -> None:
        """Open `/` as a newcomer does; Arabic is the default, so an English reader switches."""
        self.page.goto(self.url("/"))
        self.check_language(ARABIC)
        self.words = ARABIC
        self.shoot("home")
        if self.start.lang != "ar":
            self.switch_language()
            self.shoot("home")
        expect(self.page.get_by_role("heading", level=1)).to_be_visible()

    def press(self, target: Locator) -> None:
        """Click, or on a page wider than the screen press Enter on it.

        On a phone the console's audit page is wider than the screen, and there Chromium's
        touch emulation misses every click on a right-to-left page (the <html> element takes
        it): the link or button is then pressed from the keyboard instead.
        """
        viewport = self.page.viewport_size
        assert viewport is not None
        if self.page.evaluate("document.documentElement.scrollWidth") > viewport["width"]:
            target.press("Enter")
        else:
            target.click()

    def click_link(self, name: str) -> None:
        self.main.get_by_role("link", name=name, exact=True).first.click()

    def heading(self) -> Locator:
        return self.page.get_by_role("heading", level=1)

    def only_local(self) -> None:
        check_only_local_requests(self.page, self.phones, self.server)


DEVICES = ["phone", "desk"]
LANGUAGES = [ARABIC, ENGLISH]
WAYS = pytest.mark.parametrize(
    ("start", "device"),
    [(words, device) for words in LANGUAGES for device in DEVICES],
    ids=[f"{words.lang}-{device}" for words in LANGUAGES for device in DEVICES],
)


def qr_photo(text: str) -> bytes:
    """A photo of a code on a screen: the QR, not quite centred, on a light grey surround."""
    code = Image.open(io.BytesIO(qr.png(text, scale=6))).convert("L")
    picture = Image.new("L", (code.width + 160, code.height + 120), 225)
    picture.paste(code, (90, 50))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def checked_by_someone(server: LiveServer) -> None:
    """Give Fatima a document, and have someone check it: her pages then have a row each."""
    record, _pdf = issue(server)
    assert server.app.test_client().get(f"/d/{record['reference']}").status_code == 200


@WAYS
def test_a_beneficiary_signs_in_switching_language_at_every_step_and_signs_out(
    phones: Phones, live_server: LiveServer, start: Words, device: str
) -> None:
    walk = Walk("beneficiary", start, device, phones, live_server)
    app = walk.server.app
    issue_ids(app, FATIMA)
    checked_by_someone(walk.server)
    walk.open_home()

    walk.click_link(start.sign_in)
    expect(walk.page).to_have_url(walk.url("/login"))
    expect(walk.heading()).to_have_text(start.sign_in)
    walk.shoot("login")
    walk.switch_language()
    other = walk.words
    expect(walk.heading()).to_have_text(other.sign_in)
    walk.shoot("login")

    walk.page.get_by_label(other.civil_id).fill(FATIMA.civil_id)
    walk.page.get_by_label(other.file_number).fill(FATIMA.file_number)
    walk.main.get_by_role("button", name=other.send).click()
    expect(walk.heading()).to_have_text(other.enter_code)
    walk.shoot("code")
    # Switching language on the code page keeps the sign-in under way.
    walk.switch_language("/login/code")
    expect(walk.heading()).to_have_text(start.enter_code)
    code_field = walk.page.get_by_label(start.code, exact=True)
    expect(code_field).to_be_visible()
    walk.shoot("code")
    code_field.fill(sent_codes(app, FATIMA.phone)[-1])
    walk.main.get_by_role("button", name=start.sign_in).click()
    expect(walk.page).to_have_url(re.compile(re.escape(walk.url("/me")) + r"(\?.*)?$"))
    expect(walk.heading()).to_have_text(start.name)
    assert session_cookie(walk.page) is not None
    walk.shoot("me")

    walk.switch_language()
    expect(walk.heading()).to_have_text(other.name)
    walk.shoot("me")
    walk.click_link(other.my_id)
    expect(walk.page.locator("[data-qr] svg")).to_be_visible()
    walk.shoot("card")
    walk.click_link(other.my_account)
    walk.click_link(other.my_documents)
    expect(walk.heading()).to_have_text(other.my_documents)
    expect(walk.main.locator("li h2")).to_have_text(["Certificate of entitlement"])
    walk.shoot("documents")
    walk.click_link(other.my_account)
    walk.click_link(other.who_checked)
    expect(walk.heading()).to_have_text(other.who_checked)
    expect(walk.main.locator("table.history tbody tr")).to_have_count(1)
    walk.shoot("who-checked-me")

    header = walk.page.locator("header.site")
    expect(header.get_by_role("link", name=other.name)).to_be_visible()
    header.get_by_role("button", name=other.sign_out).click()
    expect(walk.page).to_have_url(re.compile(re.escape(walk.url("/")) + r"(\?.*)?$"))
    assert session_cookie(walk.page) is None
    expect(walk.main.get_by_role("link", name=other.sign_in, exact=True)).to_be_visible()
    walk.shoot("signed-out")
    walk.only_local()


@WAYS
def test_a_clerk_scans_an_id_from_a_photo_and_scans_another(
    phones: Phones, live_server: LiveServer, start: Words, device: str
) -> None:
    walk = Walk("scan", start, device, phones, live_server)
    issue_ids(walk.server.app, FATIMA)
    photo = qr_photo(phone_url(walk.server.app))
    walk.open_home()

    walk.click_link(start.scan_id)
    expect(walk.page).to_have_url(re.compile(re.escape(walk.url("/scan")) + r"(\?.*)?$"))
    expect(walk.heading()).to_have_text(start.scan_heading)
    walk.shoot("scanner")
    walk.page.get_by_label(start.photo).set_input_files(
        files={"name": "id.png", "mimeType": "image/png", "buffer": photo}
    )
    walk.main.get_by_role("button", name=start.check_photo).click()
    expect(walk.page).to_have_url(re.compile(re.escape(walk.url("/v/"))))
    expect(walk.page.locator("[data-verdict]")).to_have_attribute("data-verdict", "valid")
    expect(walk.heading()).to_have_text(start.valid)
    expect(walk.main.get_by_text(start.name).first).to_be_visible()
    walk.shoot("verdict")
    walk.switch_language()
    other = walk.words
    expect(walk.heading()).to_have_text(other.valid)
    walk.shoot("verdict")

    walk.click_link(other.scan_another)
    expect(walk.page).to_have_url(re.compile(re.escape(walk.url("/scan")) + r"(\?.*)?$"))
    expect(walk.heading()).to_have_text(other.scan_heading)
    expect(walk.page.get_by_label(other.photo)).to_be_visible()
    walk.shoot("scanner-again")
    walk.only_local()


@WAYS
def test_a_clerk_checks_a_document_by_number_and_code_and_checks_another(
    phones: Phones, live_server: LiveServer, start: Words, device: str
) -> None:
    walk = Walk("document", start, device, phones, live_server)
    record, _pdf = issue(walk.server)
    walk.open_home()

    walk.click_link(start.check_document)
    expect(walk.page).to_have_url(re.compile(re.escape(walk.url("/d")) + r"(\?.*)?$"))
    expect(walk.heading()).to_have_text(start.check_document)
    walk.shoot("lookup")
    walk.page.get_by_label(start.number).fill(record["number"])
    walk.page.get_by_label(start.verification_code).fill(record["code"])
    walk.main.get_by_role("button", name=start.check, exact=True).click()
    expect(walk.page).to_have_url(walk.url(f"/d/{record['reference']}"))
    expect(walk.page.locator("[data-verdict]")).to_have_attribute("data-verdict", "valid")
    expect(walk.heading()).to_have_text(start.genuine)
    expect(walk.main.get_by_text(record["number"]).first).to_be_visible()
    walk.shoot("verdict")
    walk.switch_language()
    other = walk.words
    expect(walk.heading()).to_have_text(other.genuine)
    walk.shoot("verdict")

    walk.click_link(other.check_another)
    expect(walk.page).to_have_url(re.compile(re.escape(walk.url("/d")) + r"(\?.*)?$"))
    expect(walk.heading()).to_have_text(other.check_document)
    expect(walk.page.get_by_label(other.number)).to_be_visible()
    walk.shoot("lookup-again")
    walk.only_local()


@WAYS
def test_an_administrator_suspends_and_reinstates_an_id_then_reads_the_audit_log(
    phones: Phones, live_server: LiveServer, start: Words, device: str
) -> None:
    walk = Walk("admin", start, device, phones, live_server)
    app = walk.server.app
    issue_ids(app, FATIMA)
    username, password, secret = make_staff(app, "admin")
    walk.open_home()

    walk.click_link(start.staff_console)
    expect(walk.heading()).to_have_text(start.staff_sign_in)
    walk.shoot("staff-login")
    walk.switch_language()  # the way back to the console (?next=) is kept
    other = walk.words
    expect(walk.heading()).to_have_text(other.staff_sign_in)
    walk.shoot("staff-login")
    walk.page.locator("#username").fill(username)
    walk.page.locator("#password").fill(password)
    walk.page.locator("#code").fill(pyotp.TOTP(secret).now())
    walk.main.get_by_role("button", name=other.sign_in).click()
    # The printed password works once: the console first asks for one of the user's own.
    expect(walk.heading()).to_have_text(other.choose_password)
    walk.shoot("password")
    walk.switch_language()
    expect(walk.heading()).to_have_text(start.choose_password)
    walk.shoot("password")
    walk.page.locator("#current").fill(password)
    walk.page.locator("#new").fill(NEW_PASSWORD)
    walk.page.locator("#repeat").fill(NEW_PASSWORD)
    walk.page.locator("#repeat").press("Enter")
    expect(walk.heading()).to_have_text(start.dashboard)
    walk.shoot("dashboard")

    nav = walk.page.locator("nav.console-nav")
    nav.get_by_role("link", name=start.beneficiaries).click()
    walk.page.locator("#q").fill(FATIMA.civil_id)
    walk.main.get_by_role("button", name=start.search).click()
    expect(walk.main.get_by_role("link", name=start.name)).to_be_visible()
    walk.shoot("search")
    walk.switch_language()  # the search is kept
    expect(walk.page.locator("#q")).to_have_value(FATIMA.civil_id)
    walk.main.get_by_role("link", name=other.name).click()
    expect(walk.heading()).to_have_text(other.name)
    status = walk.page.locator("[data-credential-status]")
    expect(status).to_have_attribute("data-credential-status", "active")
    walk.shoot("beneficiary")

    walk.page.get_by_label(other.reason).fill("Card reported lost")
    walk.main.get_by_role("button", name=other.suspend).click()
    expect(walk.main.get_by_role("status")).to_have_text(other.suspended)
    expect(status).to_have_attribute("data-credential-status", "suspended")
    walk.shoot("suspended")
    walk.page.get_by_label(other.reason).fill("Card found again")
    walk.main.get_by_role("button", name=other.reinstate).click()
    expect(walk.main.get_by_role("status")).to_have_text(other.reinstated)
    expect(status).to_have_attribute("data-credential-status", "active")
    walk.shoot("reinstated")

    walk.page.locator("nav.console-nav").get_by_role("link", name=other.audit_log).click()
    expect(walk.heading()).to_have_text(other.audit_log)
    walk.shoot("audit")
    walk.page.locator("#action").select_option("credential.suspend")
    walk.press(walk.main.get_by_role("button", name=other.filter))
    rows = walk.main.locator("table.audit tbody tr")
    expect(rows).to_have_count(1)
    walk.shoot("audit-filtered")
    walk.switch_language()  # the filter is kept
    expect(walk.page.locator("#action")).to_have_value("credential.suspend")
    expect(rows).to_have_count(1)
    walk.shoot("audit-filtered")
    walk.only_local()


@WAYS
def test_a_developer_opens_the_api_documentation(
    phones: Phones, live_server: LiveServer, start: Words, device: str
) -> None:
    walk = Walk("developer", start, device, phones, live_server)
    walk.open_home()
    walk.click_link(start.api_docs)
    expect(walk.page).to_have_url(re.compile(re.escape(walk.url("/api/docs"))))
    expect(walk.page.get_by_text("/api/v1/verify").first).to_be_visible()
    expect(walk.page.get_by_text("POST").first).to_be_visible()
    walk.shoot("api-docs")
    walk.only_local()
