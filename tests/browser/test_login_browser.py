"""Signing in on a phone, as a person does: Arabic right to left, then English left to right."""

import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import PHONE_HEIGHT, PHONE_SCALE, PHONE_WIDTH, LiveServer, Phones
from tests.factories import FATIMA, sent_codes

SCREENS = Path("/tmp/hawiya-screens")  # for people to look at; outside the repository
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@dataclass(frozen=True)
class Words:
    """What a person reads on the sign-in pages, in one language."""

    lang: str
    dir: str
    civil_id: str
    file_number: str
    send: str
    code: str
    sign_in: str
    sign_out: str
    name: str


ARABIC = Words(
    "ar", "rtl", "الرقم المدني", "رقم الملف", "أرسل لي رمزًا", "الرمز", "تسجيل الدخول",
    "تسجيل الخروج", FATIMA.full_name_ar,
)  # fmt: skip
ENGLISH = Words(
    "en", "ltr", "Civil ID", "File number", "Send me a code", "Code", "Sign in", "Sign out",
    FATIMA.full_name_en,
)  # fmt: skip

# Where the text of an element sits on the screen: its glyphs, not its (stretched) box.
TEXT_BOX = """element => {
    const range = document.createRange();
    range.selectNodeContents(element);
    const box = range.getBoundingClientRect();
    return {left: box.left, right: box.right, width: document.documentElement.clientWidth};
}"""


def text_box(locator: Locator) -> dict[str, float]:
    box: dict[str, float] = locator.evaluate(TEXT_BOX)
    return box


def check_direction(page: Page, words: Words) -> None:
    """The page, its labels and its header run in the language's direction."""
    assert page.evaluate("document.documentElement.dir") == words.dir
    assert page.evaluate("document.documentElement.lang") == words.lang
    for label in (words.civil_id, words.file_number):
        box = text_box(page.locator("label", has_text=label))
        margin, far = box["width"] - box["right"], box["left"]
        if words.dir == "ltr":
            margin, far = far, margin
        # The label starts at the form's edge on the reading side (main and form padding,
        # about 33 px), and stays in the first half of the line.
        assert margin < 45, (label, box)
        assert far > box["width"] / 2, (label, box)
    brand = page.locator("header.site .brand").bounding_box()
    other_language = page.locator("header.site .lang").bounding_box()
    assert brand is not None and other_language is not None
    assert (brand["x"] > other_language["x"]) == (words.dir == "rtl")
    # Digits are typed left to right in both languages.
    direction = "el => getComputedStyle(el).direction"
    assert page.get_by_label(words.civil_id).evaluate(direction) == "ltr"


def screenshot(page: Page, path: Path, heading: Locator) -> Path:
    """Take a screenshot and check it: the phone's size in pixels, not blank, a heading drawn."""
    page.evaluate("document.fonts.ready")
    page.screenshot(path=path)
    scale = PHONE_SCALE
    assert page.viewport_size == {"width": PHONE_WIDTH, "height": PHONE_HEIGHT}
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    assert rgb.size == (PHONE_WIDTH * scale, PHONE_HEIGHT * scale)
    assert rgb.getcolors(maxcolors=1) is None, "the screenshot is a single colour"
    box = heading.bounding_box()
    assert box is not None
    area = rgb.crop(
        (int(box["x"] * scale), int(box["y"] * scale),
         int((box["x"] + box["width"]) * scale), int((box["y"] + box["height"]) * scale))
    )  # fmt: skip
    # Dark ink on a light page: the heading's glyphs were drawn.
    dark = sum(area.convert("L").histogram()[:128])
    assert dark > 0.02 * area.width * area.height, f"the heading area looks empty ({dark} px)"
    return path


def check_only_local_requests(page: Page, phones: Phones, server: LiveServer) -> None:
    """Nothing left the machine: not from the browser's view, nor from the page's own."""
    assert phones.requests, "no request was recorded"
    hosts = {urlsplit(url).hostname for url in phones.requests if not url.startswith("data:")}
    assert hosts <= LOCAL_HOSTS, hosts
    # What the page's scripts can see: every resource and navigation it loaded.
    seen = page.evaluate(
        "[...performance.getEntriesByType('navigation'),"
        " ...performance.getEntriesByType('resource')].map(entry => entry.name)"
    )
    assert seen, "the page recorded no resource"
    origin = server.url
    assert all(name.startswith(origin + "/") for name in seen), seen


def session_cookie(page: Page) -> dict | None:
    return next((c for c in page.context.cookies() if c["name"] == "__Host-hawiya"), None)


def sign_in_and_out(
    page: Page, server: LiveServer, phones: Phones, words: Words, tmp_path: Path
) -> dict[str, Path]:
    """Sign in as Fatima from the login page of the given language, then sign out."""
    shots: dict[str, Path] = {}
    query = "?lang=en" if words.lang == "en" else ""
    page.goto(f"{server.url}/login{query}")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(words.sign_in)
    check_direction(page, words)
    shots["login"] = screenshot(page, tmp_path / f"login-{words.lang}.png", heading)

    page.get_by_label(words.civil_id).tap()
    page.get_by_label(words.civil_id).press_sequentially(FATIMA.civil_id)
    page.get_by_label(words.file_number).tap()
    page.get_by_label(words.file_number).press_sequentially(FATIMA.file_number)
    page.get_by_role("button", name=words.send).tap()

    code_field = page.get_by_label(words.code, exact=True)
    expect(code_field).to_be_visible()
    assert page.evaluate("document.documentElement.dir") == words.dir
    code = sent_codes(server.app, FATIMA.phone)[-1]
    code_field.tap()
    code_field.press_sequentially(code)
    page.get_by_role("button", name=words.sign_in).tap()

    expect(page).to_have_url(f"{server.url}/me")
    expect(heading).to_have_text(words.name)
    assert page.evaluate("document.documentElement.dir") == words.dir
    # The Secure, `__Host-` cookie was taken over plain http from 127.0.0.1 (a potentially
    # trustworthy origin), and sent back: /me showed her name.
    cookie = session_cookie(page)
    assert cookie is not None
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert cookie["domain"] == "127.0.0.1" and cookie["path"] == "/"
    shots["me"] = screenshot(page, tmp_path / f"me-{words.lang}.png", heading)
    check_only_local_requests(page, phones, server)

    page.get_by_role("button", name=words.sign_out).tap()
    expect(page).to_have_url(f"{server.url}/")
    assert session_cookie(page) is None
    page.goto(f"{server.url}/me")
    expect(page).to_have_url(f"{server.url}/login")
    expect(heading).to_have_text(words.sign_in)
    check_only_local_requests(page, phones, server)
    return shots


def keep(shot: Path, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENS / name)


def test_sign_in_and_out_in_arabic_on_a_phone(
    page: Page, live_server: LiveServer, phones: Phones, tmp_path: Path
) -> None:
    shots = sign_in_and_out(page, live_server, phones, ARABIC, tmp_path)
    keep(shots["login"], "login-ar.png")


def test_sign_in_and_out_in_english_on_a_phone(
    page_en: Page, live_server: LiveServer, phones: Phones, tmp_path: Path
) -> None:
    shots = sign_in_and_out(page_en, live_server, phones, ENGLISH, tmp_path)
    keep(shots["me"], "me-en.png")
